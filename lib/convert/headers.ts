// X-Symphony-* headers keeping the Symphony identity of the people whom From and To may show by
// their Microsoft 365 address (buildEmail writes them, toGraphMessage ranks them).

export const SENDER_ID_HEADER = "X-Symphony-Sender-Id";
export const FROM_ADDRESS_HEADER = "X-Symphony-From-Address";
/** Each To recipient as `<user id> <Symphony address>` (the address when Symphony has a plain one), in To's order. */
export const TO_HEADER = "X-Symphony-To";
