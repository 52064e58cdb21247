/** Public API of the hand-written Prometheus text exposition (0.0.4) encoder. */
export { MetricFamily, RenderedLabels, renderLabels } from './metric-family.js';
export type { MetricType } from './metric-family.js';
export {
  CONTENT_TYPE,
  encodeFamilies,
  encodeFamilyChunks,
  familyChunks,
  escapeHelp,
  escapeLabelValue,
  formatValue,
} from './text-encoder.js';
export { encodeBody, type EncodedBody } from './encoded-body.js';
export { GZIP_LEVEL, acceptsGzip, gunzipStream, gzipBody, gzipChunks } from './gzip.js';
