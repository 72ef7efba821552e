"""Stage 3, analyze: one analysis per source file shared by every later question, the
cache that keeps its parse between invocations, and the combined data opened for it."""
