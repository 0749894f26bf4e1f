// Sizes libuv's thread pool for a brook node. Imported first by the entry point, so it runs
// before any other module's code and before the pool exists (libuv creates it on the first
// fs, dns or crypto job and never resizes it). Every fsync, segment read and write of the
// broker and every LevelDB call of Raft share this pool; libuv's default of 4 lets a few
// slow fsyncs stall all reads. An operator's own UV_THREADPOOL_SIZE wins.
export const UV_THREADPOOL_DEFAULT = "16";
process.env["UV_THREADPOOL_SIZE"] ??= UV_THREADPOOL_DEFAULT;
