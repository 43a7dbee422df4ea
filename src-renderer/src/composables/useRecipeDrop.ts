/**
 * Drop a PNG anywhere on the window to restore its recipe (ComfyUI's drop-to-load, A1111's PNG
 * Info): the file's text chunks go to `gallery:readRecipe` (same channel over IPC and HTTP), the
 * Sample page's form takes what maps, and a toast says what was restored and what was not.
 * Drops a page handles itself (the Datasets page's folder import) are left alone.
 */
import { getCurrentScope, onScopeDispose, ref } from 'vue';
import { api } from '../api';
import { errorMessage } from '../lib/errors';
import { isPng, pngTextOnly, toBase64 } from '../lib/pngText';
import { recipeToastText } from '../lib/recipe';
import { MAX_RECIPE_PNG_BYTES } from '../../../src-main/api/recipe';
import { useNavStore } from '../stores/nav';
import { useSampleStore } from '../stores/sample';
import { useUiStore } from '../stores/ui';

const hasFiles = (ev: DragEvent) => !!ev.dataTransfer && [...ev.dataTransfer.types].includes('Files');

export function useRecipeDrop(): { dragging: ReturnType<typeof ref<boolean>>; restoreFromFile: (file: File) => Promise<void> } {
  const nav = useNavStore();
  const sample = useSampleStore();
  const ui = useUiStore();
  const dragging = ref(false);

  async function restoreFromFile(file: File): Promise<void> {
    const name = file.name || 'the file';
    const fail = (text: string) => void ui.toast(text, { kind: 'error', ms: 8000 });
    if (file.size > MAX_RECIPE_PNG_BYTES) {
      fail(`"${name}" is ${(file.size / 2 ** 20).toFixed(1)} MB; recipes are read from PNGs up to ${MAX_RECIPE_PNG_BYTES / 2 ** 20} MB.`);
      return;
    }
    try {
      const bytes = new Uint8Array(await file.arrayBuffer());
      if (!isPng(bytes)) {
        fail(`"${name}" is not a PNG image. Drop a PNG saved by Sfumato or by AUTOMATIC1111 (Forge, …) to restore its recipe.`);
        return;
      }
      const recipe = await api['gallery:readRecipe']({ png: toBase64(pngTextOnly(bytes)), name });
      if (recipe.source === 'none') {
        fail(`No Sfumato or A1111 recipe in this PNG ("${name}").${recipe.problems.length ? ` ${recipe.problems.join('; ')}.` : ''}`);
        return;
      }
      const applied = await sample.applyRecipe(recipe.settings);
      sample.img2imgSource = null;
      nav.go('sample');
      const problems = [...applied.problems, ...recipe.problems];
      const who = recipe.source === 'sfumato' ? 'Sfumato' : 'A1111';
      ui.toast(recipeToastText(`"${name}" (${who})`, { restored: applied.restored, problems }), { kind: problems.length ? 'info' : 'ok', ms: problems.length ? 12000 : 5000 });
    } catch (e) {
      fail(`Could not read the recipe of "${name}": ${errorMessage(e)}`);
    }
  }

  // A counter, because dragenter/dragleave fire for every element the pointer crosses.
  let depth = 0;
  const onEnter = (ev: DragEvent) => {
    if (!hasFiles(ev)) return;
    depth++;
    dragging.value = true;
  };
  const onLeave = (ev: DragEvent) => {
    if (!hasFiles(ev)) return;
    depth = Math.max(0, depth - 1);
    if (depth === 0) dragging.value = false;
  };
  const onOver = (ev: DragEvent) => {
    if (!hasFiles(ev)) return;
    // A page's own drop target took it (it called preventDefault first): let it show its own cue.
    if (ev.defaultPrevented) {
      dragging.value = false;
      return;
    }
    dragging.value = true;
    ev.preventDefault();
    if (ev.dataTransfer) ev.dataTransfer.dropEffect = 'copy';
  };
  const onDrop = (ev: DragEvent) => {
    depth = 0;
    dragging.value = false;
    if (ev.defaultPrevented || !hasFiles(ev)) return;
    ev.preventDefault();
    const file = ev.dataTransfer?.files[0];
    if (file) void restoreFromFile(file);
  };
  window.addEventListener('dragenter', onEnter);
  window.addEventListener('dragleave', onLeave);
  window.addEventListener('dragover', onOver);
  window.addEventListener('drop', onDrop);
  if (getCurrentScope()) {
    onScopeDispose(() => {
      window.removeEventListener('dragenter', onEnter);
      window.removeEventListener('dragleave', onLeave);
      window.removeEventListener('dragover', onOver);
      window.removeEventListener('drop', onDrop);
    });
  }
  return { dragging, restoreFromFile };
}
