// Public surface of the ESR GO parsing core: file names, layouts, dates and the streaming file reader.
// Pure: the connector opens the file and decides what lands; nothing here touches fs, clock or env.

export { parseEsrDate, parseEsrTimestamp } from './dates.ts';
export { parseEsrGoFileName, type EsrGoFileName } from './fileName.ts';
export {
  readEsrGoFile,
  type EsrEvent,
  type EsrHeaderEvent,
  type EsrHeaderFields,
  type EsrRecordEvent,
  type EsrRejectCode,
  type EsrRejectEvent,
  type EsrTrailerEvent,
  type ReadEsrGoFileOptions,
} from './goFile.ts';
export {
  ESR_DATASETS,
  esrGoV1Layout,
  parseEsrLayout,
  type EsrAction,
  type EsrDataset,
  type EsrLayout,
  type EsrRecordLayout,
} from './layout.ts';
