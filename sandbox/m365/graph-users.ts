import type { GraphCall, GraphRequest, GraphResponse } from "./graph-types";
import { graphError, ok } from "./graph-types";
import { applySelect, parseAnyEquality, parseEquality, parseSelect, splitTopLevel } from "./odata";
import type { User } from "./state";

export function serializeUser(user: User): Record<string, unknown> {
  return {
    businessPhones: [],
    displayName: user.displayName,
    givenName: user.displayName.split(" ")[0] ?? null,
    jobTitle: null,
    mail: user.mail,
    mobilePhone: null,
    officeLocation: null,
    preferredLanguage: "en-US",
    surname: user.displayName.split(" ").slice(1).join(" ") || null,
    userPrincipalName: user.userPrincipalName,
    id: user.id,
  };
}

/** Properties only $select brings back (as in Graph). */
function withHidden(user: User): Record<string, unknown> {
  return { ...serializeUser(user), proxyAddresses: user.proxyAddresses };
}

function render(user: User, select: string[] | null): Record<string, unknown> {
  return select ? applySelect(withHidden(user), select) : serializeUser(user);
}

export function getUser(call: GraphCall, req: GraphRequest, idOrUpn: string): GraphResponse {
  const user = call.ctx.state.findUser(idOrUpn);
  if (!user) return userNotFound(call, idOrUpn);
  return ok({
    "@odata.context": `${graphBase(call)}/$metadata#users/$entity`,
    ...render(user, parseSelect(req.query)),
  });
}

export function userNotFound(call: GraphCall, idOrUpn: string): GraphResponse {
  return graphError(
    404,
    "Request_ResourceNotFound",
    `Resource '${idOrUpn}' does not exist or one of its queried reference-property objects are not present.`,
    call,
  );
}

export function listUsers(call: GraphCall, req: GraphRequest): GraphResponse {
  const advanced = req.headers["consistencylevel"]?.toLowerCase() === "eventual";
  const count = req.query.get("$count");
  if (count === "true" && !advanced) {
    return graphError(400, "Request_BadRequest", "$count is not currently supported.", call);
  }
  const filter = req.query.get("$filter");
  let users = [...call.ctx.state.users.values()];
  if (filter) {
    const predicates = splitTopLevel(filter, "or").map(userPredicate);
    if (predicates.some((p) => p === null)) {
      return graphError(
        400,
        "Request_UnsupportedQuery",
        `Unsupported or invalid query filter clause specified: '${filter}'.`,
        call,
      );
    }
    users = users.filter((u) => predicates.some((p) => p!(u)));
  }
  const select = parseSelect(req.query);
  return ok({
    "@odata.context": `${graphBase(call)}/$metadata#users`,
    ...(count === "true" ? { "@odata.count": users.length } : {}),
    value: users.map((u) => render(u, select)),
  });
}

function userPredicate(clause: string): ((user: User) => boolean) | null {
  const equality = parseEquality(clause);
  if (equality) {
    const value = equality.value.toLowerCase();
    switch (equality.property.toLowerCase()) {
      case "mail":
        return (u) => u.mail === value;
      case "userprincipalname":
        return (u) => u.userPrincipalName === value;
      case "id":
        return (u) => u.id === value;
      default:
        return null;
    }
  }
  const any = parseAnyEquality(clause);
  if (any && any.collection.toLowerCase() === "proxyaddresses") {
    const value = any.value.toLowerCase();
    return (u) => u.proxyAddresses.some((p) => p.toLowerCase() === value);
  }
  return null;
}

export function graphBase(call: GraphCall): string {
  return `${call.ctx.origin()}/v1.0`;
}
