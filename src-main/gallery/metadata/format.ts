/** Chunk keywords, the record format name and version, and the reader limits (moved whole from gallery/metadata.ts; its file comment has the format and the safety rules). */


export const SFUMATO_KEYWORD = 'sfumato';
export const A1111_KEYWORD = 'parameters';
export const SAMPLE_FORMAT = 'sfumato-sample';
export const SAMPLE_FORMAT_VERSION = 1;

/** The sfumato chunk holds a few KB; anything beyond this is refused before JSON.parse. */
export const MAX_SFUMATO_JSON_CHARS = 256 * 1024;
/** Nesting depth of the sfumato JSON (the record needs 4: root, record, schedule, a points array). */
export const MAX_JSON_DEPTH = 8;
