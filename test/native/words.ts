/** Word indices (Int32) of the native tests' shared segments; each on its own cache line. */
export const WORDS = { ping: 0, pong: 16, magic: 32, echo: 48 } as const;
