// Placeholder: replaced by the embedded PostgreSQL/Azurite setup.
export default async function setup() {}
