/**
 * Kafka's topic-name rules (Topic.java): 1-249 characters of ASCII letters, digits, '.', '_'
 * and '-', not "." or "..". Names differing only by '.' versus '_' collide, because both
 * become '_' in metric names.
 */
export const MAX_TOPIC_NAME_LENGTH = 249
const LEGAL = /^[a-zA-Z0-9._-]+$/

/** Kafka's message for an illegal name, or null when the name is legal. */
export function topicNameError (name: string): string | null {
  if (name.length === 0) return 'Topic name is illegal, it can\'t be empty'
  if (name === '.' || name === '..') return 'Topic name cannot be "." or ".."'
  if (name.length > MAX_TOPIC_NAME_LENGTH) {
    return `Topic name is illegal, it can't be longer than ${MAX_TOPIC_NAME_LENGTH} characters, topic name: ${name}`
  }
  if (!LEGAL.test(name)) {
    return `Topic name "${name}" is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'`
  }
  return null
}

export function unifyCollisionChars (name: string): string {
  return name.replace(/\./g, '_')
}
