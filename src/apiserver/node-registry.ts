/** What node agents offer the API server (log sources, stream targets), by node name. */
export class NodeRegistry<T> {
  private readonly byNode = new Map<string, T>();

  /** Registers `value` for the node; the returned function unregisters it (if it is still the one). */
  register(nodeName: string, value: T): () => void {
    this.byNode.set(nodeName, value);
    return () => {
      if (this.byNode.get(nodeName) === value) this.byNode.delete(nodeName);
    };
  }

  protected lookup(nodeName: string): T | undefined {
    return this.byNode.get(nodeName);
  }
}
