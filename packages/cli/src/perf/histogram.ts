/**
 * A latency histogram with logarithmic buckets 1% wide (from 1 µs to hours), so percentiles
 * of any number of samples take fixed memory and are within 1% of the exact value. The
 * minimum, maximum and mean are exact.
 */
const GROWTH = Math.log(1.01)
const BUCKETS = 2400

export interface LatencySummary {
  count: number
  avg: number
  min: number
  p50: number
  p95: number
  p99: number
  p999: number
  max: number
}

export class LatencyHistogram {
  readonly #counts = new Float64Array(BUCKETS)
  #count = 0
  #sum = 0
  #min = Infinity
  #max = 0

  /** Records a latency in milliseconds. */
  record (ms: number): void {
    const us = ms * 1000
    const bucket = us < 1 ? 0 : Math.min(BUCKETS - 1, Math.floor(Math.log(us) / GROWTH) + 1)
    this.#counts[bucket]!++
    this.#count++
    this.#sum += ms
    if (ms < this.#min) this.#min = ms
    if (ms > this.#max) this.#max = ms
  }

  get count (): number {
    return this.#count
  }

  /** The latency below which a fraction `q` (0..1) of the samples fall, in ms. */
  percentile (q: number): number {
    if (this.#count === 0) return 0
    const rank = Math.max(1, Math.ceil(q * this.#count))
    let seen = 0
    for (let b = 0; b < BUCKETS; b++) {
      seen += this.#counts[b]!
      if (seen >= rank) {
        // The bucket's upper bound, capped by the exact extremes.
        const upper = b === 0 ? 0.001 : Math.exp(b * GROWTH) / 1000
        return Math.min(this.#max, Math.max(this.#min, upper))
      }
    }
    return this.#max
  }

  summary (): LatencySummary {
    return {
      count: this.#count,
      avg: this.#count === 0 ? 0 : this.#sum / this.#count,
      min: this.#count === 0 ? 0 : this.#min,
      p50: this.percentile(0.5),
      p95: this.percentile(0.95),
      p99: this.percentile(0.99),
      p999: this.percentile(0.999),
      max: this.#max
    }
  }
}
