import { it, expect } from 'vitest';
import { Rest } from '../apiserver/rest.js';
import { resources } from '../registry/index.js';
import { MemoryStore } from '../storage/memory.js';
import { InProcessClient } from '../client/in-process.js';
it('smoke', async () => {
  const rest = new Rest(new MemoryStore(), resources);
  const c = new InProcessClient(rest);
  await c.create({group:'',version:'v1',resource:'namespaces'}, undefined, {apiVersion:'v1',kind:'Namespace',metadata:{name:'a'}});
  const cm = await c.create({group:'',version:'v1',resource:'configmaps'}, 'a', {apiVersion:'v1',kind:'ConfigMap',metadata:{name:'x'}});
  console.log(JSON.stringify(cm));
  console.log(resources.map(r => `${r.group}/${r.plural} ${r.namespaced} ${r.verbs.join(',')}`).join('\n'));
});
