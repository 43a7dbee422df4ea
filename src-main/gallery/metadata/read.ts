/** Reading a PNG's sample metadata (both chunks) (moved whole from gallery/metadata.ts; its file comment has the format and the safety rules). */
import { type PngReadLimits, readPngText } from '../../png/chunks';
import { A1111_KEYWORD, SFUMATO_KEYWORD } from './format';
import { parseA1111Parameters } from './a1111';
import { parseSfumatoChunk, type SampleMetadata } from './sfumato-chunk';

export interface ReadSampleOptions {
  limits?: Partial<PngReadLimits>;
}

/**
 * Reads Sfumato's and A1111's metadata from PNG bytes. Never throws, whatever the input: bad
 * signatures, truncation, wrong CRCs (such chunks are skipped), compression bombs, malformed or
 * hostile JSON all end up in `problems`.
 */
export function readSampleMetadata(png: Uint8Array, options: ReadSampleOptions = {}): SampleMetadata {
  const out: SampleMetadata = { problems: [] };
  try {
    const text = readPngText(png, { keywords: [SFUMATO_KEYWORD, A1111_KEYWORD], limits: options.limits });
    for (const p of text.problems) if (p.code !== 'trailing_data') out.problems.push(`${p.code}: ${p.message}`);
    const ours = text.entries.filter((e) => e.keyword === SFUMATO_KEYWORD);
    const theirs = text.entries.filter((e) => e.keyword === A1111_KEYWORD);
    if (ours.length > 1) out.problems.push(`${ours.length} sfumato chunks; using the first`);
    if (theirs.length > 1) out.problems.push(`${theirs.length} parameters chunks; using the first`);
    if (ours[0]) {
      const s = parseSfumatoChunk(ours[0].text);
      out.problems.push(...s.problems);
      if (s.partial) out.partial = s.partial;
      if (s.record) out.record = s.record;
    }
    if (theirs[0]) {
      out.parametersText = theirs[0].text;
      out.a1111 = parseA1111Parameters(theirs[0].text);
    }
  } catch (e) {
    // Defence in depth: nothing above should throw.
    out.problems.push(`internal: ${String((e as Error)?.message ?? e).slice(0, 200)}`);
  }
  if (out.problems.length > 200) out.problems.length = 200;
  return out;
}
