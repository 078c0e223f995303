import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import {
  decodeRequest, decodeResponse, encodeRequest, encodeResponse, peekCorrelationId, readRequestHeader,
  requestHeaderVersion, responseHeaderVersion
} from '../src/frame.ts'
import { FrameDecoder, FrameTooLargeError, InvalidFrameSizeError } from '../src/frame-decoder.ts'
import { ApiVersionsApi, ControlledShutdownApi, FetchApi, MetadataApi, ProduceApi } from '../src/messages/index.ts'
import { type ApiVersionsResponse, createApiVersionsResponse } from '../src/messages/api-versions.ts'
import { createMetadataRequest } from '../src/messages/metadata.ts'
import { createFetchResponse, createFetchableTopicResponse, createPartitionData } from '../src/messages/fetch.ts'
import { ProtocolDecodeError, Reader } from '../src/primitives/mod.ts'

describe('header versions', () => {
  test('request header v2 for flexible versions, v1 otherwise, v0 for ControlledShutdown v0', () => {
    assert.equal(requestHeaderVersion(MetadataApi, 8), 1)
    assert.equal(requestHeaderVersion(MetadataApi, 9), 2)
    assert.equal(requestHeaderVersion(ControlledShutdownApi, 0), 0)
    assert.equal(requestHeaderVersion(ControlledShutdownApi, 1), 1)
  })

  test('response header v1 for flexible versions, but always v0 for ApiVersions (KIP-511)', () => {
    assert.equal(responseHeaderVersion(FetchApi, 11), 0)
    assert.equal(responseHeaderVersion(FetchApi, 12), 1)
    assert.equal(responseHeaderVersion(ApiVersionsApi, 3), 0)
  })

  test('a too-new ApiVersions request still has a readable v2 header', () => {
    const frame = Buffer.concat(encodeRequest(ApiVersionsApi, 3, { correlationId: 7, clientId: 'c' }, ApiVersionsApi.request.create())).subarray(4)
    frame.writeInt16BE(99, 2)
    const header = readRequestHeader(new Reader(frame))
    assert.equal(header.headerVersion, 2)
    assert.equal(header.requestApiVersion, 99)
    assert.equal(header.correlationId, 7)
    assert.throws(() => decodeRequest(frame), /ApiVersions version 99 is outside/)
  })
})

describe('request and response frames', () => {
  test('a request encodes with size prefix and header and decodes back', () => {
    const body = { ...createMetadataRequest(), topics: null, allowAutoTopicCreation: true }
    for (const v of [1, 4, 9, 12]) {
      const chunks = encodeRequest(MetadataApi, v, { correlationId: 123, clientId: 'samsa-test' }, body)
      const bytes = Buffer.concat(chunks)
      assert.equal(bytes.readInt32BE(0), bytes.length - 4)
      const { header, body: back } = decodeRequest(bytes.subarray(4))
      assert.equal(header.requestApiKey, 3)
      assert.equal(header.requestApiVersion, v)
      assert.equal(header.correlationId, 123)
      assert.equal(header.clientId, 'samsa-test')
      assert.equal(header.headerVersion, v >= 9 ? 2 : 1)
      assert.deepStrictEqual(back, body)
    }
  })

  test('a null client id survives', () => {
    const bytes = Buffer.concat(encodeRequest(ProduceApi, 7, { correlationId: 1, clientId: null }, ProduceApi.request.create()))
    assert.equal(decodeRequest(bytes.subarray(4)).header.clientId, null)
  })

  test('a response encodes and decodes, with the correlation id first', () => {
    const body: ApiVersionsResponse = { ...createApiVersionsResponse(), errorCode: 35, throttleTimeMs: 5 }
    const bytes = Buffer.concat(encodeResponse(ApiVersionsApi, 3, 99, body))
    assert.equal(peekCorrelationId(bytes.subarray(4)), 99)
    // ApiVersions v3 response: header v0 (4 bytes), so the body starts right after the correlation id.
    assert.equal(bytes.readInt16BE(8), 35)
    const back = decodeResponse(ApiVersionsApi, 3, bytes.subarray(4))
    assert.equal(back.correlationId, 99)
    assert.deepStrictEqual(back.body, body)
  })

  test('a Fetch response links large record sets instead of copying them', () => {
    const records = Buffer.alloc(1 << 20, 7)
    const body = {
      ...createFetchResponse(),
      responses: [{ ...createFetchableTopicResponse(), topic: 't', partitions: [{ ...createPartitionData(), records }] }]
    }
    const chunks = encodeResponse(FetchApi, 11, 5, body)
    assert.ok(chunks.includes(records), 'the records buffer is one of the chunks')
    assert.equal(chunks.length, 2, 'header bytes, then the linked records (the last field in v11)')
    const bytes = Buffer.concat(chunks)
    assert.equal(bytes.readInt32BE(0), bytes.length - 4)
    const back = decodeResponse(FetchApi, 11, bytes.subarray(4))
    assert.deepStrictEqual(back.body.responses[0]!.partitions[0]!.records, records)
  })

  test('a truncated header is a decode error', () => {
    assert.throws(() => decodeRequest(Buffer.from([0, 3])), ProtocolDecodeError)
    assert.throws(() => peekCorrelationId(Buffer.from([0])), ProtocolDecodeError)
  })
})

describe('FrameDecoder', () => {
  function frames (payloads: Buffer[]): Buffer {
    return Buffer.concat(payloads.map((p) => {
      const size = Buffer.alloc(4)
      size.writeInt32BE(p.length)
      return Buffer.concat([size, p])
    }))
  }

  test('splits a stream cut at arbitrary points into the original frames', () => {
    fc.assert(fc.property(
      fc.array(fc.uint8Array({ maxLength: 300 }), { minLength: 1, maxLength: 8 }),
      fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 20 }),
      (payloads, cuts) => {
        const stream = frames(payloads.map((p) => Buffer.from(p)))
        const decoder = new FrameDecoder(1024)
        const out: Buffer[] = []
        let at = 0
        let i = 0
        while (at < stream.length) {
          const n = cuts[i++ % cuts.length]!
          decoder.push(stream.subarray(at, at + n))
          at += n
          for (let f = decoder.next(); f !== undefined; f = decoder.next()) out.push(Buffer.from(f))
        }
        assert.deepStrictEqual(out, payloads.map((p) => Buffer.from(p)))
        assert.equal(decoder.buffered, 0)
      }))
  })

  test('a frame inside one chunk is a view, not a copy', () => {
    const stream = frames([Buffer.from('hello')])
    const decoder = new FrameDecoder(100)
    decoder.push(stream)
    const frame = decoder.next()!
    assert.equal(frame.buffer, stream.buffer)
    assert.equal(frame.toString(), 'hello')
  })

  test('a size above the limit is rejected before anything is allocated', () => {
    const decoder = new FrameDecoder(100 * 1024 * 1024)
    decoder.push(Buffer.from([0x7f, 0xff, 0xff, 0xff]))
    assert.throws(() => decoder.next(), FrameTooLargeError)
  })

  test('a negative size is rejected', () => {
    const decoder = new FrameDecoder(100)
    decoder.push(Buffer.from([0xff, 0xff]))
    assert.equal(decoder.next(), undefined)
    decoder.push(Buffer.from([0xff, 0xfe]))
    assert.throws(() => decoder.next(), InvalidFrameSizeError)
  })

  test('empty chunks and zero-length frames', () => {
    const decoder = new FrameDecoder(100)
    decoder.push(Buffer.alloc(0))
    decoder.push(Buffer.from([0, 0, 0, 0]))
    assert.equal(decoder.next()!.length, 0)
    assert.equal(decoder.next(), undefined)
  })
})
