// Effective topic configs (a topic's overrides over the broker's defaults, with the source of each
// value), resolved once per change of a topic's overrides. A TopicImage's `configs` object is
// replaced whenever a ConfigRecord changes it, so "same object" means "same overrides".

import { resolveTopicConfig, type LoadedBrokerConfig, type ResolvedTopicConfig } from "../config/index.ts";
import type { MetadataImage, TopicImage } from "./image.ts";

export class TopicConfigs {
  private readonly cache = new Map<string, { overrides: Readonly<Record<string, string>>; resolved: ResolvedTopicConfig }>();

  constructor(
    private readonly config: LoadedBrokerConfig,
    private readonly currentImage: () => MetadataImage,
  ) {}

  /** The config of `topic` as that image has it (the reconciler applies an image not yet published). */
  of(topic: TopicImage): ResolvedTopicConfig {
    const cached = this.cache.get(topic.name);
    if (cached && cached.overrides === topic.configs) return cached.resolved;
    const resolved = resolveTopicConfig(this.config, { ...topic.configs });
    this.cache.set(topic.name, { overrides: topic.configs, resolved });
    return resolved;
  }

  /** A topic's config in the published image; the broker defaults for a topic that does not exist. */
  get(name: string): ResolvedTopicConfig {
    const topic = this.currentImage().topicsByName.get(name);
    if (!topic) return resolveTopicConfig(this.config, {});
    return this.of(topic);
  }

  /** Forget a removed topic (so the cache holds only live topics). */
  forget(name: string): void {
    this.cache.delete(name);
  }
}
