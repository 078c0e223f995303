import type { Writer } from './writer.ts'

/** A tagged field this code does not know: its tag and raw bytes, written back unchanged. */
export interface TaggedField {
  tag: number
  data: Buffer
}

export function writeTaggedField (w: Writer, field: TaggedField): void {
  w.writeUnsignedVarInt(field.tag)
  w.writeUnsignedVarInt(field.data.length)
  w.writeRaw(field.data)
}

/** Appends an unknown tagged field to a (lazily created) list; used by generated decoders. */
export function keepTaggedField (list: TaggedField[] | undefined, tag: number, data: Buffer): TaggedField[] {
  const out = list ?? []
  out.push({ tag, data })
  return out
}
