/**
 * Splits a byte stream into Kafka frames (`int32 size` + payload), sans-I/O: feed it socket
 * chunks, take whole frames out.
 *
 * A frame that lies inside one chunk is returned as a zero-copy view of it; only a frame that
 * spans chunks is copied, once. The declared size is checked against `maxFrameSize` before
 * any allocation (Kafka's `socket.request.max.bytes`), so a lying size field cannot make it
 * allocate.
 */
export class FrameTooLargeError extends Error {
  readonly code = 'SAMSA_FRAME_TOO_LARGE'
  readonly size: number

  constructor (size: number, max: number) {
    super(`Frame of ${size} bytes is larger than the limit of ${max} bytes`)
    this.name = 'FrameTooLargeError'
    this.size = size
  }
}

export class InvalidFrameSizeError extends Error {
  readonly code = 'SAMSA_INVALID_FRAME_SIZE'

  constructor (size: number) {
    super(`Invalid frame size ${size}`)
    this.name = 'InvalidFrameSizeError'
  }
}

export class FrameDecoder {
  readonly maxFrameSize: number
  #chunks: Buffer[] = []
  #buffered = 0

  constructor (maxFrameSize: number) {
    this.maxFrameSize = maxFrameSize
  }

  /** Bytes received but not yet returned as frames. */
  get buffered (): number {
    return this.#buffered
  }

  push (chunk: Buffer): void {
    if (chunk.length === 0) return
    this.#chunks.push(chunk)
    this.#buffered += chunk.length
  }

  /**
   * The next whole frame's payload (without the size prefix), or undefined if more bytes are
   * needed. Throws FrameTooLargeError / InvalidFrameSizeError for a bad size prefix; the
   * stream cannot be resynchronised after that, so the caller closes the connection.
   */
  next (): Buffer | undefined {
    if (this.#buffered < 4) return undefined
    const size = this.#peekSize()
    if (size < 0) throw new InvalidFrameSizeError(size)
    if (size > this.maxFrameSize) throw new FrameTooLargeError(size, this.maxFrameSize)
    if (this.#buffered < 4 + size) return undefined
    const first = this.#chunks[0]!
    if (first.length >= 4 + size) {
      const frame = first.subarray(4, 4 + size)
      this.#consume(4 + size)
      return frame
    }
    const frame = Buffer.allocUnsafe(size)
    this.#consume(4)
    let filled = 0
    while (filled < size) {
      const chunk = this.#chunks[0]!
      const take = Math.min(chunk.length, size - filled)
      chunk.copy(frame, filled, 0, take)
      filled += take
      this.#consume(take)
    }
    return frame
  }

  #peekSize (): number {
    const first = this.#chunks[0]!
    if (first.length >= 4) return first.readInt32BE(0)
    const head = Buffer.allocUnsafe(4)
    let filled = 0
    for (const chunk of this.#chunks) {
      const take = Math.min(chunk.length, 4 - filled)
      chunk.copy(head, filled, 0, take)
      filled += take
      if (filled === 4) break
    }
    return head.readInt32BE(0)
  }

  #consume (n: number): void {
    this.#buffered -= n
    while (n > 0) {
      const chunk = this.#chunks[0]!
      if (chunk.length <= n) {
        this.#chunks.shift()
        n -= chunk.length
      } else {
        this.#chunks[0] = chunk.subarray(n)
        n = 0
      }
    }
  }
}
