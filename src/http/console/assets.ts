// The web console's files as constants, inlined by the build-time macros (build-time.ts). This
// module is imported lazily by the console's routes (routes.ts), so a broker started from source
// bundles the client on the first request for /ui, not at every start; in the single binary the
// constants are already there.

import { benchResults, clientPage, clientScript, clientStyles } from "./build-time.ts" with { type: "macro" };

export const script: string = clientScript();
export const styles: string = clientStyles();
export const page: string = clientPage();
export const bench: Record<string, string> = benchResults();
