// Which Symphony people the connector cannot map to a mailbox, under the chosen mapping mode.
export interface Participant {
  id: number;
  email?: string;
  displayName?: string;
}

/** A person maps through a CSV row (by user id or email, CSV mode only) or else through their Email. */
export function unmappedParticipants(
  people: Participant[],
  mode: "AUTO" | "CSV",
  csvKeys: ReadonlySet<string>,
): Participant[] {
  return people.filter((person) => {
    if (mode === "CSV" && (csvKeys.has(String(person.id)) || (person.email && csvKeys.has(person.email.toLowerCase())))) {
      return false;
    }
    return !person.email;
  });
}
