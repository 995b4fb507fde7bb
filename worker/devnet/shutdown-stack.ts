/** Runs the actions registered so far in reverse order, each once, even if one fails. */
export class ShutdownStack {
  #actions: Array<() => Promise<void>> = [];
  #unwinding: Promise<void> | undefined;

  push(action: () => Promise<void>): void {
    this.#actions.push(action);
  }

  unwind(): Promise<void> {
    this.#unwinding ??= (async () => {
      const failures: unknown[] = [];
      for (const action of this.#actions.reverse()) {
        try {
          await action();
        } catch (error) {
          failures.push(error);
        }
      }
      if (failures.length > 0) throw new AggregateError(failures, "devnet shutdown had failures");
    })();
    return this.#unwinding;
  }
}
