/** vCenter tasks driven through the raw SOAP client: create a snapshot and wait for it. */
import assert from 'node:assert/strict';
import { RawVimClient, refXml, xmlEscape } from './vim-soap.js';

/** Polls Task.info.state until success (throws on error or after ~5 s). */
export async function waitTask(raw: RawVimClient, task: string): Promise<void> {
  const { propertyCollector } = await raw.serviceContent();
  for (let i = 0; i < 100; i++) {
    const xml = await raw.call(
      'RetrievePropertiesEx',
      refXml('_this', propertyCollector) +
        '<specSet><propSet><type>Task</type><pathSet>info.state</pathSet></propSet>' +
        `<objectSet>${refXml('obj', { type: 'Task', value: task })}</objectSet></specSet><options/>`,
    );
    const state = /<val[^>]*>([^<]*)<\/val>/.exec(xml)?.[1];
    if (state === 'success') return;
    if (state === 'error') throw new Error(`task ${task} failed`);
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`task ${task} did not finish`);
}

/** CreateSnapshot_Task on a VM (no memory, no quiesce), waiting for the task. */
export async function createSnapshot(raw: RawVimClient, vmMoid: string, name: string): Promise<void> {
  const xml = await raw.call(
    'CreateSnapshot_Task',
    refXml('_this', { type: 'VirtualMachine', value: vmMoid }) +
      `<name>${xmlEscape(name)}</name><description>test</description><memory>false</memory><quiesce>false</quiesce>`,
  );
  const task = /<returnval[^>]*>([^<]*)<\/returnval>/.exec(xml)?.[1];
  assert.ok(task, 'CreateSnapshot_Task returned a task');
  await waitTask(raw, task);
}

/** Runs a `<method>` task on a VM (e.g. Rename_Task with `<newName>`), waiting for it. */
export async function vmTask(raw: RawVimClient, method: string, vmMoid: string, params = ''): Promise<void> {
  const xml = await raw.call(method, refXml('_this', { type: 'VirtualMachine', value: vmMoid }) + params);
  const task = /<returnval[^>]*>([^<]*)<\/returnval>/.exec(xml)?.[1];
  assert.ok(task, `${method} returned a task`);
  await waitTask(raw, task);
}
