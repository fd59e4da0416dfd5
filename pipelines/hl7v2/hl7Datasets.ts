// The raw datasets an `hl7v2` source lands, and the SQL that fills them from one staged part of a
// file (see messageSpool.ts):
// - `messages`: one row per distinct message, with its MSH header, parsed time and raw text;
// - `segments`: one row per segment of a landed message, fields split but not decoded, so models
//   reach any field in SQL without parsing again (HL7 field n at list index n + 1);
// - `duplicates`: one row per message skipped because the same bytes were already landed.
//
// The message key (a content hash) is computed here too, so hashing runs on DuckDB's thread.
// Duplicates and reused control ids are decided here, in DuckDB, against the source's landed
// messages and the file's earlier parts, rather than in JavaScript: the check is a hash join over
// three narrow Parquet columns, and JavaScript memory stays flat however many messages exist.

import { quoteLiteral } from '../../core/sql.ts';
import type { RawDatasetSchema } from '../landing/rawDataset.ts';
import { HL7_INDEX_KEYS } from './messageIndex.ts';

export const HL7_MESSAGES: RawDatasetSchema = {
  dataset: 'messages',
  columns: [
    // MD5 of the message text (segments joined by CR, decoded by its character set), 32 hex digits: a
    // deduplication key, not a security control (three times faster than SHA-256 in DuckDB, measured).
    { name: 'message_key', type: 'VARCHAR' },
    { name: 'control_id', type: 'VARCHAR' },
    { name: 'message_type', type: 'VARCHAR' },
    { name: 'trigger_event', type: 'VARCHAR' },
    { name: 'structure', type: 'VARCHAR' },
    { name: 'version', type: 'VARCHAR' },
    { name: 'sending_application', type: 'VARCHAR' },
    { name: 'sending_facility', type: 'VARCHAR' },
    { name: 'receiving_application', type: 'VARCHAR' },
    { name: 'receiving_facility', type: 'VARCHAR' },
    // MSH-7.1 as sent; its instant (read in `timezone` when sent without an offset) and precision.
    { name: 'message_timestamp', type: 'VARCHAR' },
    { name: 'message_time', type: 'TIMESTAMPTZ' },
    { name: 'message_time_precision', type: 'VARCHAR' },
    { name: 'timezone', type: 'VARCHAR' },
    // MSH-18 as sent, and the encoding the text was really decoded with (latin1 or utf8).
    { name: 'charset', type: 'VARCHAR' },
    { name: 'encoding', type: 'VARCHAR' },
    // MSH-1 followed by MSH-2, e.g. `|^~\&`: every message may declare its own.
    { name: 'delimiters', type: 'VARCHAR' },
    { name: 'file_control_id', type: 'VARCHAR' },
    { name: 'batch_control_id', type: 'VARCHAR' },
    { name: 'segment_count', type: 'INTEGER' },
    { name: 'byte_length', type: 'INTEGER' },
    // True when an earlier message from the same sending facility had this control id with other content.
    { name: 'control_id_reused', type: 'BOOLEAN' },
  ],
  originalTextColumn: 'message',
};

export const HL7_SEGMENTS: RawDatasetSchema = {
  dataset: 'segments',
  columns: [
    { name: 'message_key', type: 'VARCHAR' },
    { name: 'segment_index', type: 'INTEGER' },
    { name: 'segment_id', type: 'VARCHAR' },
    { name: 'delimiters', type: 'VARCHAR' },
    // Field n (HL7 numbering) at list index n + 1; for MSH, index 2 is MSH-1. Escapes not decoded.
    { name: 'fields', type: 'VARCHAR[]' },
  ],
  // The message's text is in `messages`; repeating it per segment would double the raw layer.
  originalTextColumn: null,
};

export const HL7_DUPLICATES: RawDatasetSchema = {
  dataset: 'duplicates',
  columns: [
    { name: 'message_key', type: 'VARCHAR' },
    { name: 'control_id', type: 'VARCHAR' },
    { name: 'sending_facility', type: 'VARCHAR' },
  ],
  originalTextColumn: null,
};

/** The scratch tables holding one staged part, and its duplicate and reuse flags by record. */
export const HL7_PART_TABLE = 'hl7_part';
export const HL7_FLAGS_TABLE = 'hl7_part_flags';

/**
 * Stages a part: the spool's rows (`spoolSql`) with their content key, then each message's flags,
 * checked against the source's message index (messageIndex.ts, attached), `earlierParts` (this
 * file's parts landed so far, as Parquet) and the part's own earlier rows. A message is a duplicate
 * when its key was seen; its control id is reused when an earlier message has that sending facility
 * and control id with another key (duplicates are skipped, so their flag does not matter).
 *
 * Memory: the flags are computed on narrow columns, and the earlier keys are semi-joined against
 * the part's keys, so the hash tables are the size of the part, not of everything ever landed.
 */
export function stagePartSql(spoolSql: string, earlierParts: readonly string[]): string[] {
  const index = `SELECT message_key, sending_facility, control_id FROM ${HL7_INDEX_KEYS}`;
  const earlier =
    earlierParts.length === 0
      ? index
      : `${index} UNION ALL SELECT message_key, sending_facility, control_id FROM read_parquet([${earlierParts.map(quoteLiteral).join(', ')}])`;
  return [
    `CREATE OR REPLACE TEMP TABLE ${HL7_PART_TABLE} AS SELECT *, md5(message) AS message_key FROM (${spoolSql})`,
    `CREATE OR REPLACE TEMP TABLE ${HL7_FLAGS_TABLE} AS
WITH part AS (SELECT _record, message_key, sending_facility, control_id FROM ${HL7_PART_TABLE}),
part_keys AS (SELECT DISTINCT message_key FROM part),
part_ids AS (SELECT DISTINCT sending_facility, control_id FROM part),
earlier AS (${earlier}),
seen_keys AS (SELECT DISTINCT e.message_key FROM earlier e SEMI JOIN part_keys p ON e.message_key = p.message_key),
seen_ids AS (
  SELECT DISTINCT e.sending_facility, e.control_id FROM earlier e
  SEMI JOIN part_ids p ON e.sending_facility IS NOT DISTINCT FROM p.sending_facility AND e.control_id = p.control_id
)
SELECT s._record,
  (row_number() OVER (PARTITION BY s.message_key ORDER BY s._record) > 1 OR k.message_key IS NOT NULL) AS duplicate,
  i.control_id IS NOT NULL
    OR first_value(s.message_key) OVER (PARTITION BY s.sending_facility, s.control_id ORDER BY s._record) <> s.message_key AS control_id_reused
FROM part s
LEFT JOIN seen_keys k ON k.message_key = s.message_key
LEFT JOIN seen_ids i ON i.sending_facility IS NOT DISTINCT FROM s.sending_facility AND i.control_id = s.control_id`,
  ];
}

/** The staged part joined to its flags. */
const FLAGGED = `${HL7_PART_TABLE} JOIN ${HL7_FLAGS_TABLE} USING (_record)`;

/** The landed messages of the staged part. */
export function messagesRowsSql(timezone: string): string {
  return `SELECT _record, message_key, control_id, message_type, trigger_event, structure, version,
  sending_application, sending_facility, receiving_application, receiving_facility,
  message_timestamp, message_time::TIMESTAMPTZ AS message_time, message_time_precision, ${quoteLiteral(timezone)} AS timezone,
  charset, encoding, delimiters, file_control_id, batch_control_id, segment_count, byte_length, control_id_reused, message
FROM ${FLAGGED} WHERE NOT duplicate`;
}

/** The segments of the landed messages, split on each message's own field separator. */
export function segmentsRowsSql(): string {
  return `SELECT _record, message_key, segment_index::INTEGER AS segment_index, left(segment, 3) AS segment_id, delimiters,
  CASE WHEN segment_index = 1 THEN list_concat(['MSH', delimiters[1]], string_split(segment, delimiters[1])[2:])
       ELSE string_split(segment, delimiters[1]) END AS fields
FROM (
  SELECT _record, message_key, delimiters, unnest(generate_series(1, len(segments))) AS segment_index, unnest(segments) AS segment
  FROM (SELECT _record, message_key, delimiters, string_split(message, chr(13)) AS segments FROM ${FLAGGED} WHERE NOT duplicate)
)`;
}

/** The staged part's duplicates, one row each: lineage shows where the repeat was. */
export function duplicatesRowsSql(): string {
  return `SELECT _record, message_key, control_id, sending_facility FROM ${FLAGGED} WHERE duplicate`;
}
