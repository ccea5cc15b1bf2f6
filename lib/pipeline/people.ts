// The people of a message as collect passes them on: the service account left out (it is never a
// recipient), and mapped people shown by their Microsoft 365 address in the converted item.
import type { ChatMessage, Person } from "@/lib/convert";
import type { IncomingMessage, ServiceAccount } from "./source";

type Someone = { userId: string | number; email?: string | null };

/** Whether a participant or a converted person is the connector's service account. */
export function serviceAccountTest(account: ServiceAccount | null): (person: Someone) => boolean {
  if (!account) return () => false;
  const userId = account.userId.toLowerCase();
  const email = account.email?.trim().toLowerCase();
  return (person) =>
    String(person.userId).toLowerCase() === userId || (!!email && person.email?.trim().toLowerCase() === email);
}

/** The message without the service account among its participants (as sender it stays: From says who wrote). */
export function withoutServiceAccount(
  message: IncomingMessage,
  isServiceAccount: (person: Someone) => boolean,
): IncomingMessage {
  const participants = message.participants.filter((person) => !isServiceAccount(person));
  if (message.kind === "email") return { ...message, participants };
  const chat = { ...message.chat, participants: message.chat.participants.filter((p) => !isServiceAccount(p)) };
  return { ...message, chat, participants };
}

/**
 * The chat message with each mapped person's Microsoft 365 address (by Symphony user id) for the
 * converter: plain data, since conversion runs in a worker thread.
 */
export function withMappedAddresses(chat: ChatMessage, addresses: ReadonlyMap<string, string>): ChatMessage {
  const mapped = (person: Person): Person => {
    const address = addresses.get(person.userId);
    return address ? { ...person, mappedAddress: address } : person;
  };
  return { ...chat, sender: mapped(chat.sender), participants: chat.participants.map(mapped) };
}
