/** `sfumato models …`: list bundled and imported models, export a checkpoint to ONNX, import an ONNX UNet. */
import { readFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { call, type CliContext } from '../context';
import { parseNum, parseScheduleArg, UsageError } from '../parse';

export function register(program: Command, ctx: CliContext): void {
  const models = program.command('models').description('bundled base models and imported ONNX UNets');
  models
    .command('list')
    .action(() =>
      ctx.withService(async (s, out) => {
        const r = await call(s, out, 'models:list', {});
        out.result(r, () =>
          [...r.models.map((m) => `${m.id}  ${m.name}  (bundled, ${m.trainConfig.imageSize}px)`), ...r.imported.map((m) => `${m.id}  ${m.name}  (ONNX, ${m.prediction}, ${m.imageSize}px)`)].join('\n') || 'no models',
        );
      }),
    );
  models
    .command('export <checkpoint>')
    .description('export a checkpoint (EMA weights) to ONNX: inputs sample [B,3,H,W] and timestep [B], output out_sample')
    .requiredOption('--out <file.onnx>', 'where to write it (never overwritten)')
    .action((id: string, o: { out: string }) =>
      ctx.withService(async (s, out) => {
        const r = await call(s, out, 'models:export', { checkpointId: id, to: o.out });
        out.result({ file: r.path, bytes: r.bytes, checkpoint: r.checkpointId }, () => `wrote ${r.path} (${r.bytes} bytes)`);
      }),
    );
  models
    .command('merge')
    .description('bake a LoRA adapter into a model at a strength: a new model (sample it with --model, listed on the Models page)')
    .option('--run <id>', 'a LoRA run: its latest checkpoint and its own adapter')
    .option('--checkpoint <id>', 'a checkpoint (of a LoRA run, or any with --lora)')
    .option('--model <id>', 'a bundled base model (with --lora)')
    .option('--lora <file.safetensors>', 'an adapter file (default: the LoRA run\'s own)')
    .option('--scale <s>', 'strength (default 1 = as trained)', parseNum('scale'))
    .option('--name <name>', 'display name')
    .action((o: { run?: string; checkpoint?: string; model?: string; lora?: string; scale?: number; name?: string }) =>
      ctx.withService(async (s, out) => {
        if (!o.run && !o.checkpoint && !o.model) throw new UsageError('say which model to merge into: --run <id>, --checkpoint <id> or --model <id>');
        const r = await call(s, out, 'models:merge', { runId: o.run, checkpointId: o.checkpoint, modelId: o.model, lora: o.lora, scale: o.scale, name: o.name });
        out.result(r, () => `merged into ${r.model.id} "${r.model.name}"; sample it with: sfumato sample --model ${r.model.id}`);
      }),
    );
  models
    .command('import <file>')
    .description('import an external ONNX UNet (sample + timestep -> output of the sample shape)')
    .addOption(new Option('--prediction <kind>', 'what the network predicts').choices(['eps', 'x0', 'v']).makeOptionMandatory())
    .requiredOption('--schedule <name|json>', 'its noise schedule: a preset (linear, scaled-linear, cosine, …) or JSON as in the sampler bench')
    .option('--name <name>', 'display name (default: the file name)')
    .action((file: string, o: { prediction: 'eps' | 'x0' | 'v'; schedule: string; name?: string }) =>
      ctx.withService(async (s, out) => {
        const r = await call(s, out, 'models:import', { file, prediction: o.prediction, schedule: parseScheduleArg(o.schedule), name: o.name });
        out.result(r, () => `imported ${r.model.id} "${r.model.name}" (${r.model.imageSize}px, ${r.model.prediction}); sample it with: sfumato sample --model ${r.model.id}`);
      }),
    );
}
