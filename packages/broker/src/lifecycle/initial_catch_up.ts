// A (re)starting broker replays the metadata log from where its copy ends. Acting on every
// replayed view made it lead and follow partitions in turn under epochs long gone (a restart
// logged "became leader epoch 3, follower 4, leader 5, ..." within milliseconds), each step
// doing log and fetcher work, and writing epochs into logs that never had them. Kafka's broker
// publishes nothing until it has caught up once; this decides the same. Pure.

export class InitialCatchUp {
  #target = Number.POSITIVE_INFINITY;
  #done = false;

  /**
   * Whether to act on a view at `viewOffset`, the stream's last message saying the log is
   * committed up to `highWatermark`. Views are held back until one reaches the smallest high
   * watermark heard (a lagging voter may serve the stream after a reconnect); after that,
   * every view is acted on.
   */
  deliver(viewOffset: number, highWatermark: number): boolean {
    if (this.#done) return true;
    if (highWatermark >= 0) this.#target = Math.min(this.#target, highWatermark);
    this.#done = viewOffset >= this.#target;
    return this.#done;
  }
}
