import { describe, expect, it } from 'vitest';
import {
  SFUMATO_KEYWORD,
  a1111Parameters,
  a1111Quote,
  embedSampleMetadata,
  parseA1111Parameters,
  parseSfumatoChunk,
  readSampleMetadata,
  restorableSettings,
  samplerFromA1111,
  sfumatoChunkText,
} from '../../../src-main/gallery/metadata';
import sharp from 'sharp';
import { encodePng, encodeSamplePng } from '../../../src-main/gallery/png';
import { readPngText } from '../../../src-main/png/chunks';
import { cat, latin1, makePng, rawChunk, rgbPattern, sampleRecord, utf8, withChunksAfterIhdr } from './helpers';

/**
 * An independent reading of the A1111 format for cross-checking: a direct port of A1111's
 * parse_generation_parameters (modules/infotext_utils.py) with its own regex `re_param`,
 * with Python's Unicode `\w` as [\p{L}\p{N}_]. Test-only: its regex backtracks on long input.
 */
function a1111Reference(x: string): Record<string, string> {
  const reParam = /\s*([\p{L}\p{N}_][\p{L}\p{N}_ \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)/gu;
  const res: Record<string, string> = {};
  const lines = x.trim().split('\n');
  let last = lines.pop()!;
  if ([...last.matchAll(reParam)].length < 3) {
    lines.push(last);
    last = '';
  }
  let prompt = '';
  let negative = '';
  let done = false;
  for (let line of lines) {
    line = line.trim();
    if (line.startsWith('Negative prompt:')) {
      done = true;
      line = line.slice(16).trim();
    }
    if (done) negative += (negative === '' ? '' : '\n') + line;
    else prompt += (prompt === '' ? '' : '\n') + line;
  }
  res.Prompt = prompt;
  res['Negative prompt'] = negative;
  for (const m of last.matchAll(reParam)) {
    let v = m[2];
    if (v.length > 0 && v[0] === '"' && v[v.length - 1] === '"') {
      try {
        v = JSON.parse(v) as string;
      } catch {
        // A1111 keeps it raw
      }
    }
    const size = /^(\d+)x(\d+)$/.exec(v);
    if (size) {
      res[`${m[1]}-1`] = size[1];
      res[`${m[1]}-2`] = size[2];
    } else res[m[1]] = v;
  }
  return res;
}

describe('a1111Parameters (writer)', () => {
  it('writes the A1111 parameter line, with our keys after theirs', () => {
    const text = a1111Parameters(sampleRecord());
    expect(text).toBe(
      'Steps: 20, Sampler: DDIM, Schedule type: linear, Seed: 123456, Size: 16x16, Model hash: 6ce0161689, Model: run_q1w2e3r4t5, ' +
        'Eta DDIM: 0, Sfumato sampler: ddim, Sfumato sampler options: "{\\"eta\\":0,\\"spacing\\":\\"leading\\"}", ' +
        'Sfumato schedule: "{\\"kind\\":\\"discrete\\",\\"beta\\":\\"linear\\",\\"trainSteps\\":1000,\\"betaStart\\":0.0001,\\"betaEnd\\":0.02}", ' +
        'Prediction: eps, Checkpoint: ckpt_k9x8y7z6w5, Checkpoint sha256: 6ce0161689b3853acaa03779ec93eafe75a02f4ced659bee03f50797806fa2fa, ' +
        'Run: run_q1w2e3r4t5, Backend: wasm, Sample: smp_a1b2c3d4e5, Sfumato version: 0.1.0',
    );
    expect(text.includes('\n')).toBe(false); // no prompt: A1111's strip() leaves the parameter line alone
  });

  it('maps sampler names to A1111 labels and keeps ours where there is none', () => {
    const label = (s: string) => /Sampler: ([^,]+)/.exec(a1111Parameters(sampleRecord({ sampler: s as never, samplerOptions: {} })))![1];
    expect(['ddim', 'euler', 'euler-ancestral', 'heun', 'dpmpp-2m', 'ddpm', 'pc'].map(label)).toEqual(['DDIM', 'Euler', 'Euler a', 'Heun', 'DPM++ 2M', 'ddpm', 'pc']);
    expect(a1111Parameters(sampleRecord({ sampler: 'euler-ancestral', samplerOptions: { eta: 1 } }))).toMatch(/, Eta: 1, /);
  });

  it('quotes like A1111 (json.dumps when , : or newline) plus cases A1111 cannot read back', () => {
    expect(a1111Quote('Euler a')).toBe('Euler a');
    expect(a1111Quote(7)).toBe('7');
    expect(a1111Quote('a, b')).toBe('"a, b"');
    expect(a1111Quote('x: 1')).toBe('"x: 1"');
    expect(a1111Quote('two\nlines')).toBe('"two\\nlines"');
    expect(a1111Quote('café, "q" \\ ✓')).toBe('"café, \\"q\\" \\\\ ✓"'); // ensure_ascii=False: non-ASCII stays
    expect(a1111Quote('"starts with a quote')).toBe('"\\"starts with a quote"');
    expect(a1111Quote(' padded ')).toBe('" padded "');
  });

  it('writes prompt lines when given, and refuses keys A1111 cannot parse', () => {
    const t = a1111Parameters(sampleRecord(), { prompt: 'a cat,\nsecond line', negativePrompt: 'blurry', cfgScale: 7, params: { 'Hires upscale': 2 } });
    const lines = t.split('\n');
    expect(lines.slice(0, 3)).toEqual(['a cat,', 'second line', 'Negative prompt: blurry']);
    expect(lines[3]).toMatch(/^Steps: 20, Sampler: DDIM, Schedule type: linear, CFG scale: 7, Seed: 123456, /);
    expect(lines[3]).toMatch(/, Hires upscale: 2$/);
    expect(() => a1111Parameters(sampleRecord(), { params: { 'bad:key': 1 } })).toThrow(/key/);
    expect(() => a1111Parameters(sampleRecord(), { params: { x: 1 } })).toThrow(/key/); // A1111 keys have 2+ characters
  });

  it('is read back identically by A1111-s own algorithm (independent reference) and by ours', () => {
    const r = sampleRecord({ seed: 4294967295, width: 32, height: 64, backend: 'tensorflow, cuda: 12' });
    const text = a1111Parameters(r);
    const ref = a1111Reference(text);
    expect(ref.Steps).toBe('20');
    expect(ref.Seed).toBe('4294967295');
    expect(ref.Sampler).toBe('DDIM');
    expect([ref['Size-1'], ref['Size-2']]).toEqual(['32', '64']);
    expect(ref.Backend).toBe('tensorflow, cuda: 12');
    expect(JSON.parse(ref['Sfumato schedule'])).toEqual(r.schedule);
    const ours = parseA1111Parameters(text);
    const { Prompt, 'Negative prompt': neg, 'Size-1': w, 'Size-2': h, ...refParams } = ref;
    expect(ours.prompt).toBe(Prompt);
    expect(ours.negativePrompt).toBe(neg);
    expect({ ...ours.params }).toEqual({ ...refParams, Size: `${w}x${h}` });
  });
});

describe('parseA1111Parameters on A1111-format examples', () => {
  // Written for these tests in A1111's documented infotext layout.
  const examples: { name: string; text: string; prompt: string; negative: string; params: Record<string, string> }[] = [
    {
      name: 'typical txt2img',
      text:
        'a lighthouse on a cliff at dusk, oil painting, (dramatic sky:1.2)\n' +
        'Negative prompt: lowres, blurry, watermark\n' +
        'Steps: 20, Sampler: Euler a, CFG scale: 7, Seed: 123456, Size: 512x512, Model hash: 6ce0161689, Model: v1-5-pruned-emaonly',
      prompt: 'a lighthouse on a cliff at dusk, oil painting, (dramatic sky:1.2)',
      negative: 'lowres, blurry, watermark',
      params: { Steps: '20', Sampler: 'Euler a', 'CFG scale': '7', Seed: '123456', Size: '512x512', 'Model hash': '6ce0161689', Model: 'v1-5-pruned-emaonly' },
    },
    {
      name: 'multi-line prompt, no negative prompt, newer sampler/scheduler split, version',
      text:
        'portrait of an old fisherman,\nweathered skin, rembrandt lighting\n\n' +
        'Steps: 30, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 5.5, Seed: 42, Size: 768x512, Model hash: 31e35c80fc, Model: sd_xl_base_1.0, Version: v1.10.1',
      prompt: 'portrait of an old fisherman,\nweathered skin, rembrandt lighting\n',
      negative: '',
      params: { Steps: '30', Sampler: 'DPM++ 2M', 'Schedule type': 'Karras', 'CFG scale': '5.5', Seed: '42', Size: '768x512', 'Model hash': '31e35c80fc', Model: 'sd_xl_base_1.0', Version: 'v1.10.1' },
    },
    {
      name: 'quoted values with escapes, foreign extension keys, multi-line negative prompt',
      text:
        'a fox\nNegative prompt: bad hands,\nextra fingers\n' +
        'Steps: 25, Sampler: DDIM, CFG scale: 8, Seed: 7, Size: 512x768, Denoising strength: 0.45, ' +
        'Lora hashes: "detail: 1a2b3c4d5e6f, style: 0f9e8d7c6b5a", Hires prompt: "a \\"quoted\\" word, and a \\\\ backslash", ' +
        'Template: "line one\\nline two", ADetailer model: face_yolov8n.pt, ADetailer confidence: 0.3, Hires upscaler: R-ESRGAN 4x+',
      prompt: 'a fox',
      negative: 'bad hands,\nextra fingers',
      params: {
        Steps: '25',
        Sampler: 'DDIM',
        'CFG scale': '8',
        Seed: '7',
        Size: '512x768',
        'Denoising strength': '0.45',
        'Lora hashes': 'detail: 1a2b3c4d5e6f, style: 0f9e8d7c6b5a',
        'Hires prompt': 'a "quoted" word, and a \\ backslash',
        Template: 'line one\nline two',
        'ADetailer model': 'face_yolov8n.pt',
        'ADetailer confidence': '0.3',
        'Hires upscaler': 'R-ESRGAN 4x+',
      },
    },
    {
      name: 'no prompt at all',
      text: 'Steps: 10, Sampler: Heun, Seed: 1, Size: 64x64',
      prompt: '',
      negative: '',
      params: { Steps: '10', Sampler: 'Heun', Seed: '1', Size: '64x64' },
    },
    {
      name: 'older label with the scheduler folded in, Windows line ends',
      text: 'a tree\r\nNegative prompt: ugly\r\nSteps: 28, Sampler: DPM++ 2M Karras, CFG scale: 6, Seed: 99, Size: 512x512\r\n',
      prompt: 'a tree',
      negative: 'ugly',
      params: { Steps: '28', Sampler: 'DPM++ 2M Karras', 'CFG scale': '6', Seed: '99', Size: '512x512' },
    },
    {
      name: 'a last line with fewer than three items is prompt text',
      text: 'just a prompt with: a colon\nand a second line, Steps: 3',
      prompt: 'just a prompt with: a colon\nand a second line, Steps: 3',
      negative: '',
      params: {},
    },
  ];

  for (const ex of examples) {
    it(ex.name, () => {
      const r = parseA1111Parameters(ex.text);
      expect(r.prompt).toBe(ex.prompt);
      expect(r.negativePrompt).toBe(ex.negative);
      expect({ ...r.params }).toEqual(ex.params);
      // and A1111's own algorithm agrees (Size split aside)
      const ref = a1111Reference(ex.text.replace(/\r\n/g, '\n'));
      for (const [k, v] of Object.entries(ex.params)) {
        if (k === 'Size') expect(`${ref[`${k}-1`]}x${ref[`${k}-2`]}`).toBe(v);
        else expect(ref[k]?.trim()).toBe(v);
      }
    });
  }

  it('drops prototype-pollution keys and never touches Object.prototype', () => {
    const r = parseA1111Parameters('__proto__: polluted, constructor: x, prototype: y, Steps: 5, Seed: 1, Size: 8x8');
    expect({ ...r.params }).toEqual({ Steps: '5', Seed: '1', Size: '8x8' });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(r.params)).toBe(null);
  });

  it('runs in linear time on long hostile lines', () => {
    // Scaling, not a wall-clock bound (these machines are shared): 4x the input may take at most
    // ~10x the time (linear: 4x; a quadratic scan: 16x and seconds). Best of three runs each.
    const hostile: ((n: number) => string)[] = [
      (n) => 'a'.repeat(n),
      (n) => `Steps: 1, Seed: 2, Size: 3x3, X: "${'\\'.repeat(n / 2)}`,
      (n) => 'aa aa aa '.repeat(n / 10) + ', Steps: 1, Seed: 1, Size: 1x1',
      (n) => '\n'.repeat(n / 5),
    ];
    const best = (text: string) => {
      let t = Infinity;
      for (let i = 0; i < 3; i++) {
        const t0 = performance.now();
        parseA1111Parameters(text);
        t = Math.min(t, performance.now() - t0);
      }
      return t;
    };
    for (const make of hostile) {
      const small = best(make(250_000));
      const large = best(make(1_000_000));
      expect(large).toBeLessThan(10 * small + 20);
    }
    expect(parseA1111Parameters(42 as never)).toEqual({ prompt: '', negativePrompt: '', params: {} });
  });
});

describe('sfumato chunk + readSampleMetadata', () => {
  it('round-trips the full record and the A1111 text through a real PNG', async () => {
    const record = sampleRecord();
    const png = embedSampleMetadata(await makePng(), record);
    const text = readPngText(png);
    expect(text.entries.map((e) => [e.keyword, e.chunk])).toEqual([
      ['parameters', 'tEXt'],
      ['sfumato', 'tEXt'],
    ]);
    const meta = readSampleMetadata(png);
    expect(meta.problems).toEqual([]);
    expect(meta.record).toEqual(record);
    expect(meta.a1111!.params).toMatchObject({ Steps: '20', Seed: '123456', Sampler: 'DDIM', Size: '16x16' });
    const restored = restorableSettings(meta);
    expect(restored.source).toBe('sfumato');
    expect(restored.unmapped).toEqual([]);
    expect(restored.settings).toEqual({
      seed: 123456,
      steps: 20,
      sampler: 'ddim',
      width: 16,
      height: 16,
      eta: 0,
      samplerOptions: record.samplerOptions,
      schedule: record.schedule,
      prediction: 'eps',
      checkpointId: record.checkpoint.id,
      checkpointSha256: record.checkpoint.sha256,
      runId: record.runId,
    });
    // embedding again replaces rather than duplicates
    const again = embedSampleMetadata(png, sampleRecord({ seed: 9 }));
    const m2 = readSampleMetadata(again);
    expect(m2.problems).toEqual([]);
    expect(m2.record!.seed).toBe(9);
  });

  it('encodeSamplePng: same pixels as encodePng, with the record embedded', async () => {
    const rgb = rgbPattern(16, 16, 4);
    const record = sampleRecord();
    const png = await encodeSamplePng(rgb, 16, 16, record);
    expect(readSampleMetadata(png).record).toEqual(record);
    const a = await sharp(png).raw().toBuffer();
    const b = await sharp(await encodePng(rgb, 16, 16)).raw().toBuffer();
    expect(Buffer.compare(a, b)).toBe(0);
    expect(Buffer.compare(a, Buffer.from(rgb))).toBe(0);
  });

  it('uses iTXt when a value is not Latin-1, and keeps it exact', async () => {
    const record = sampleRecord({ backend: 'webgpu ✓ 日本', runId: null });
    const png = embedSampleMetadata(await makePng(), record);
    expect(readPngText(png).entries.map((e) => e.chunk)).toEqual(['iTXt', 'iTXt']);
    const meta = readSampleMetadata(png);
    expect(meta.record).toEqual(record);
    expect(meta.a1111!.params.Backend).toBe('webgpu ✓ 日本');
  });

  it('reads A1111-style PNGs from elsewhere (tEXt and iTXt) and restores what maps', async () => {
    const params =
      'a castle\nNegative prompt: fog\nSteps: 30, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 7, Seed: 3141592, Size: 512x768, Model hash: 6ce0161689, Model: v1-5-pruned-emaonly, Eta: 0.5, Clip skip: 2';
    for (const chunk of [
      rawChunk('tEXt', cat(latin1('parameters'), new Uint8Array([0]), latin1(params))),
      rawChunk('iTXt', cat(latin1('parameters'), new Uint8Array([0, 0, 0, 0, 0]), utf8(params))),
    ]) {
      const meta = readSampleMetadata(withChunksAfterIhdr(await makePng(), chunk));
      expect(meta.record).toBeUndefined();
      expect(meta.problems).toEqual([]);
      expect(meta.a1111!.prompt).toBe('a castle');
      const r = restorableSettings(meta);
      expect(r.source).toBe('a1111');
      expect(r.settings).toEqual({ seed: 3141592, steps: 30, sampler: 'dpmpp-2m', width: 512, height: 768, eta: 0.5, modelHash: '6ce0161689' });
      expect(r.unmapped).toEqual([
        'Schedule type: Karras',
        'Prompt: a castle (Sfumato models are unconditional)',
        'Negative prompt: fog',
        'CFG scale: 7',
        'Clip skip: 2',
      ]);
    }
  });

  it('restores our own keys from the A1111 text alone (sfumato chunk stripped)', async () => {
    const record = sampleRecord({ sampler: 'heun', samplerOptions: { churn: 0.5, sigmas: 'karras', rho: 7 } });
    const png = withChunksAfterIhdr(await makePng(), rawChunk('tEXt', cat(latin1('parameters'), new Uint8Array([0]), latin1(a1111Parameters(record)))));
    const r = restorableSettings(readSampleMetadata(png));
    expect(r.source).toBe('a1111');
    expect(r.unmapped).toEqual([]);
    expect(r.settings).toEqual({
      seed: record.seed,
      steps: record.steps,
      sampler: 'heun',
      width: 16,
      height: 16,
      samplerOptions: record.samplerOptions,
      schedule: record.schedule,
      prediction: 'eps',
      checkpointId: record.checkpoint.id,
      checkpointSha256: record.checkpoint.sha256,
      runId: record.runId,
    });
  });

  it('maps A1111 sampler labels, including the old folded form', () => {
    expect(samplerFromA1111('Euler a')).toEqual({ sampler: 'euler-ancestral' });
    expect(samplerFromA1111('DPM++ 2M Karras')).toEqual({ sampler: 'dpmpp-2m', schedule: 'Karras' });
    expect(samplerFromA1111('heun')).toEqual({ sampler: 'heun' });
    expect(samplerFromA1111('Euler a Karras')).toEqual({ sampler: 'euler-ancestral', schedule: 'Karras' });
    expect(samplerFromA1111('UniPC')).toEqual({});
    expect(restorableSettings({ problems: [] })).toEqual({ source: 'none', settings: {}, unmapped: [] });
  });
});

describe('hostile sfumato chunks', () => {
  const wrap = (record: unknown, extra: Record<string, unknown> = {}) => JSON.stringify({ format: 'sfumato-sample', version: 1, record, ...extra });
  const pngWith = async (text: string) => withChunksAfterIhdr(await makePng(), rawChunk('tEXt', cat(latin1(SFUMATO_KEYWORD), new Uint8Array([0]), latin1(text))));

  it('reports malformed JSON and wrong roots', async () => {
    for (const text of ['{"format": "sfumato-sample", "version": 1, "record": {', 'null', '[]', '42', '"str"', '{"format":"other","version":1,"record":{}}', '{"format":"sfumato-sample","version":"1","record":{}}']) {
      const meta = readSampleMetadata(await pngWith(text));
      expect(meta.record, text).toBeUndefined();
      expect(meta.problems.length, text).toBeGreaterThan(0);
    }
  });

  it('drops __proto__ / constructor keys without polluting anything', async () => {
    const good = JSON.parse(sfumatoChunkText(sampleRecord())) as { record: Record<string, unknown> };
    const text = JSON.stringify(good)
      .replace('"record":{', '"record":{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}},')
      .replace('"samplerOptions":{', '"samplerOptions":{"__proto__":{"eta":99},');
    const meta = readSampleMetadata(await pngWith(`{"__proto__":{"polluted":true},${text.slice(1)}`));
    expect(meta.record).toEqual(sampleRecord());
    expect(Object.getPrototypeOf(meta.record!.samplerOptions)).toBe(Object.prototype);
    expect(meta.record!.samplerOptions.eta).toBe(0);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(meta.problems.join('\n')).toMatch(/dropped 5 __proto__\/constructor\/prototype key/);
  });

  it('validates every field and drops unknown ones', () => {
    const bad = {
      ...sampleRecord(),
      id: 'smp_../../x',
      file: '../../etc/passwd',
      seed: '123',
      steps: -1,
      width: 1e9,
      height: 16.5,
      sampler: 'DDIM; rm -rf',
      samplerOptions: { eta: 'NaN', nested: { deep: 1 } },
      schedule: { kind: 'x'.repeat(300) },
      checkpoint: { id: 'ckpt_1', sha256: 'ABC' },
      runId: 5,
      backend: 'a\u0000b',
      createdAt: 'yesterday',
      nfe: -3,
      prediction: 'EPS!',
      origin: { kind: 'img2img', source: { nested: { deeper: true } } },
      parentId: 7,
      extra: { evil: true },
    };
    const r = parseSfumatoChunk(wrap(bad));
    expect(r.record).toBeUndefined();
    expect(r.partial).toEqual({ appVersion: '0.1.0' });
    for (const f of ['id', 'file', 'seed', 'steps', 'width', 'height', 'sampler', 'samplerOptions', 'schedule', 'checkpoint', 'runId', 'backend', 'createdAt', 'nfe', 'prediction', 'origin', 'parentId']) {
      expect(r.problems.some((p) => p.includes(`record.${f} `)), f).toBe(true);
    }
    expect(r.problems.join('\n')).toMatch(/ignored unknown field\(s\) extra/);
    const ok = parseSfumatoChunk(wrap({ ...sampleRecord(), extra: 1, toString: 'x' }));
    expect(ok.record).toEqual(sampleRecord());
    expect(ok.problems).toEqual(['sfumato chunk: ignored unknown field(s) extra, toString']);
    // a partial record still restores the fields that validated
    const partial = parseSfumatoChunk(wrap({ ...sampleRecord(), steps: 0 }));
    const restored = restorableSettings({ partial: partial.partial, problems: [] });
    expect(restored.settings.seed).toBe(123456);
    expect(restored.settings.steps).toBeUndefined();
    expect(restored.unmapped).toEqual(['steps (missing or invalid in the file)']);
  });

  it('refuses huge and deeply nested JSON before parsing it', () => {
    expect(parseSfumatoChunk(wrap({ ...sampleRecord(), backend: 'x'.repeat(300_000) })).problems[0]).toMatch(/limit/);
    expect(parseSfumatoChunk(`{"a":${'['.repeat(100_000)}${']'.repeat(100_000)}}`).problems[0]).toMatch(/nested/);
    expect(parseSfumatoChunk(wrap({ ...sampleRecord(), schedule: { kind: 'discrete', logSnrPoints: Array(5000).fill([0, 1]) } })).problems.join()).toMatch(/schedule/);
  });

  it('reads the fields it knows from a newer version, and reports it', () => {
    const r = parseSfumatoChunk(JSON.stringify({ format: 'sfumato-sample', version: 2, record: { ...sampleRecord(), futureField: 1 } }));
    expect(r.record).toEqual(sampleRecord());
    expect(r.problems[0]).toMatch(/version 2 is newer/);
  });

  it('reports wrong CRCs and truncation instead of crashing', async () => {
    const png = embedSampleMetadata(await makePng(), sampleRecord());
    const corrupt = png.slice();
    const i = Buffer.from(corrupt).indexOf('sfumato', 0, 'latin1');
    corrupt[i + 20] ^= 0x20; // change one byte of the JSON: CRC no longer matches
    const meta = readSampleMetadata(corrupt);
    expect(meta.record).toBeUndefined();
    expect(meta.a1111).toBeDefined();
    expect(meta.problems.join('\n')).toMatch(/bad_crc: chunk tEXt/);
    for (let n = 0; n < png.length; n += 7) expect(() => readSampleMetadata(png.subarray(0, n))).not.toThrow();
    expect(readSampleMetadata(png.subarray(0, 100)).problems.join()).toMatch(/truncated|no_iend/);
    expect(readSampleMetadata(null as never).problems[0]).toMatch(/not_png/);
  });
});
