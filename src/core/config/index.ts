export { parseConfig, type Orchestrator, type ConfigIssue, type ParseResult } from './parse.js';
export { configFileSchema, KNOWN_AGENT_NAMES, type AgentConfigFile, type EmbeddingConfigFile } from './schema.js';
export { durationMs, sizeBytes, formatDuration, formatSize } from './units.js';
