/**
 * happy-dom does no layout: element sizes are what the test says. `stubClientSize` gives elements
 * with a class a clientWidth/clientHeight (what ResizeObserver-driven components read).
 */
export function stubClientSize(className: string, width: number, height: number): () => void {
  const proto = HTMLElement.prototype;
  const saved = {
    w: Object.getOwnPropertyDescriptor(proto, 'clientWidth') ?? Object.getOwnPropertyDescriptor(Element.prototype, 'clientWidth'),
    h: Object.getOwnPropertyDescriptor(proto, 'clientHeight') ?? Object.getOwnPropertyDescriptor(Element.prototype, 'clientHeight'),
  };
  const own = { w: Object.prototype.hasOwnProperty.call(proto, 'clientWidth'), h: Object.prototype.hasOwnProperty.call(proto, 'clientHeight') };
  Object.defineProperty(proto, 'clientWidth', {
    configurable: true,
    get(this: HTMLElement) {
      return this.classList.contains(className) ? width : (saved.w?.get?.call(this) ?? 0);
    },
  });
  Object.defineProperty(proto, 'clientHeight', {
    configurable: true,
    get(this: HTMLElement) {
      return this.classList.contains(className) ? height : (saved.h?.get?.call(this) ?? 0);
    },
  });
  return () => {
    if (own.w && saved.w) Object.defineProperty(proto, 'clientWidth', saved.w);
    else delete (proto as unknown as Record<string, unknown>).clientWidth;
    if (own.h && saved.h) Object.defineProperty(proto, 'clientHeight', saved.h);
    else delete (proto as unknown as Record<string, unknown>).clientHeight;
  };
}
