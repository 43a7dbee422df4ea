/**
 * Provenance inside the PNG: what Sfumato writes into every sample and how it reads it back.
 *
 * Two text chunks (PNG 2nd ed. §11.3.4, see png/chunks.ts):
 *   `parameters`  the AUTOMATIC1111 web UI "infotext", so other tools (A1111, Forge, Civitai,
 *                 exiftool users) show seed, steps, sampler and size;
 *   `sfumato`     JSON {format: 'sfumato-sample', version: 1, record: <the full SampleRecord>}.
 *
 * The A1111 format (modules/infotext_utils.py + processing.create_infotext in A1111):
 *   <prompt lines>
 *   Negative prompt: <lines>            (only when there is a negative prompt)
 *   Steps: 20, Sampler: Euler a, ..., Key: value   (last line; at least three `Key: value` items)
 * Values containing `,` `:` or a newline are written as JSON strings (A1111's `quote()`); keys match
 * `\w[\w \-/]+`. Without a prompt A1111's `.strip()` leaves the parameter line alone, as here.
 *
 * Reading never throws and never trusts the file: JSON is size- and depth-limited, parsed with a
 * reviver that drops `__proto__`/`constructor`/`prototype`, then every field is validated into a
 * fresh object; unknown fields are dropped and reported.
 */
// The code lives in gallery/metadata/; this index keeps the old import path.
export { SFUMATO_KEYWORD, A1111_KEYWORD, SAMPLE_FORMAT, SAMPLE_FORMAT_VERSION, MAX_SFUMATO_JSON_CHARS, MAX_JSON_DEPTH } from './metadata/format';
export { A1111_SAMPLER_LABELS, samplerFromA1111, a1111Quote, a1111Parameters, parseA1111Parameters, type A1111Extra, type A1111Parameters } from './metadata/a1111';
export { sfumatoChunkText, sampleTextChunks, embedSampleMetadata, parseSfumatoChunk, type MetaValue, type SampleMetadataRecord, type SampleMetadata } from './metadata/sfumato-chunk';
export { readSampleMetadata, type ReadSampleOptions } from './metadata/read';
export { restorableSettings, type RestoredSettings, type Restorable } from './metadata/restore';
