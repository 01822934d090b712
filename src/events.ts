/** How a result reaches the page: a `result` event on the model and a bubbling `iamnn:result` on the element. */
export function emitResult(model: EventTarget, result: unknown, source: unknown): void {
  model.dispatchEvent(new CustomEvent('result', { detail: result }));
  if (typeof Element !== 'undefined' && source instanceof Element && source.isConnected) {
    source.dispatchEvent(new CustomEvent('iamnn:result', { detail: result, bubbles: true, composed: true }));
  }
}
