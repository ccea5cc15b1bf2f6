import { parseEntities } from "./entities";
import { escapeHtml, renderHtml } from "./render-html";
import { renderText } from "./render-text";
import { sanitizePresentationML } from "./sanitize";
import type { Person } from "./types";

export interface MessageBody {
  html: string;
  text: string;
}

function peopleIndex(people: Person[]): Map<string, Person> {
  const index = new Map<string, Person>();
  for (const person of people) {
    index.set(person.userId, person);
    if (person.email) index.set(person.email.toLowerCase(), person);
  }
  return index;
}

/**
 * PresentationML (plus Symphony's `data` entities) -> safe HTML and readable text.
 * Never throws: input the parser cannot handle is shown as escaped text.
 */
export function renderPresentationML(presentationML: string, data: string | undefined, people: Person[]): MessageBody {
  try {
    const nodes = sanitizePresentationML(presentationML, {
      entities: parseEntities(data),
      people: peopleIndex(people),
    });
    return { html: renderHtml(nodes), text: renderText(nodes) };
  } catch {
    return { html: `<div dir="auto"><pre>${escapeHtml(presentationML)}</pre></div>`, text: presentationML };
  }
}
