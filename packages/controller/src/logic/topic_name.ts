// Kafka's topic-name rules: 1..249 characters of [a-zA-Z0-9._-], not "." or "..", and no
// two topics whose names differ only by '.' versus '_' (they collide in metric names).
// Returns a message that says what to change, or undefined when the name is valid.

export const MAX_TOPIC_NAME_LENGTH = 249;
const LEGAL = /^[a-zA-Z0-9._-]+$/;

export function topicNameProblem(name: string): string | undefined {
  if (name.length === 0) return "topic name is empty; use 1 to 249 characters from [a-zA-Z0-9._-]";
  if (name === "." || name === "..") return `topic name "${name}" is reserved; choose another name`;
  if (name.length > MAX_TOPIC_NAME_LENGTH) return `topic name is ${name.length} characters long; the limit is ${MAX_TOPIC_NAME_LENGTH}`;
  if (!LEGAL.test(name)) {
    const bad = [...name].find((c) => !LEGAL.test(c)) ?? "";
    return `topic name "${name}" contains ${JSON.stringify(bad)}; use only ASCII letters, digits, '.', '_' and '-'`;
  }
  return undefined;
}

/** The name under which '.' and '_' collide. */
export function collisionKey(name: string): string {
  return name.replaceAll(".", "_");
}

/**
 * The internal topic holding every group's committed offsets. Deleting it loses them all; adding
 * partitions moves groups to other partitions (a group's partition is hash(group) mod count),
 * away from their commits. Both are refused, as Kafka refuses changes to internal topics.
 */
export const OFFSETS_TOPIC = "__consumer_offsets";

export function internalTopicProblem(name: string, action: "delete" | "add partitions to"): string | undefined {
  if (name !== OFFSETS_TOPIC) return undefined;
  return action === "delete"
    ? `${name} is internal (it holds every consumer group's committed offsets) and cannot be deleted; delete groups instead`
    : `${name} is internal: adding partitions would move consumer groups away from their committed offsets; its partition count is fixed by offsets.topic.num.partitions when it is created`;
}
