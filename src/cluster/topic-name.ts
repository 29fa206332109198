// Topic names as Kafka accepts them: 1 to 249 characters of [a-zA-Z0-9._-], not "." or "..".
// Kafka also refuses a name that differs from an existing one only by '.' versus '_', since both
// become the same metric name; `collisionKey` gives the form to compare.

export const topicNameLengthMax = 249;

const legalName = /^[a-zA-Z0-9._-]+$/;

/** Why `name` is not a legal topic name, or null when it is. */
export function topicNameProblem(name: string): string | null {
  if (name.length === 0) return "topic name is empty";
  if (name === "." || name === "..") return `topic name cannot be "." or ".."`;
  if (name.length > topicNameLengthMax) {
    return `topic name is ${name.length} characters long, the limit is ${topicNameLengthMax}`;
  }
  if (!legalName.test(name)) return `topic name "${name}" has characters other than ASCII alphanumerics, '.', '_' and '-'`;
  return null;
}

export function collisionKey(name: string): string {
  return name.replaceAll(".", "_");
}

/** Topics whose names start with "__" are internal (__consumer_offsets, __transaction_state). */
export function isInternalTopic(name: string): boolean {
  return name === "__consumer_offsets" || name === "__transaction_state";
}
