/**
 * happy-dom has no canvas 2D context. `recordingCanvas` installs one that draws nothing and records
 * the text drawn (fillText), so charts run their real code and tests can read their labels; and a
 * Path2D that records nothing.
 */
export function recordingCanvas(): { texts: string[]; restore: () => void } {
  const texts: string[] = [];
  const proto = HTMLCanvasElement.prototype as unknown as { getContext: unknown };
  const original = proto.getContext;
  proto.getContext = function (this: HTMLCanvasElement) {
    const state: Record<string | symbol, unknown> = { canvas: this };
    return new Proxy(state, {
      get(target, key) {
        if (key in target) return target[key];
        if (key === 'fillText') return (s: unknown) => void texts.push(String(s));
        if (key === 'measureText') return (s: unknown) => ({ width: String(s).length * 6, actualBoundingBoxAscent: 8, actualBoundingBoxDescent: 2 });
        if (key === 'getLineDash') return () => [];
        // every other method: draws nothing (gradients and patterns get a stub)
        return () => ({ addColorStop: () => undefined });
      },
      set(target, key, value) {
        target[key] = value;
        return true;
      },
    });
  };
  // uPlot builds its paths as Path2D objects: a path that records nothing
  const g = globalThis as unknown as { Path2D?: unknown };
  const hadPath2D = 'Path2D' in g;
  if (!hadPath2D) {
    g.Path2D = class {
      moveTo(): void {}
      lineTo(): void {}
      rect(): void {}
      arc(): void {}
      bezierCurveTo(): void {}
      quadraticCurveTo(): void {}
      closePath(): void {}
      addPath(): void {}
    };
  }
  return {
    texts,
    restore: () => {
      proto.getContext = original;
      if (!hadPath2D) delete g.Path2D;
    },
  };
}
