import type { Inventory } from './inventory.js';
import { cloneItem, emptyItem, setProperty, type InventoryItem } from './inventory-records.js';
import type { UnrequestedProperties } from './property-collector.js';
import { child, type XmlNode } from './soap/xml.js';
import { unslice } from './values.js';

/** What InventoryWatch keeps of the objects it watches, changed by each ObjectUpdate. */
export interface WatchRecords {
  /** Compact records by "type:moid"; a changed object gets a new record, never an edited one. */
  objects: Map<string, InventoryItem>;
  /** The inventory last handed out, reused while nothing changed. */
  last?: Inventory;
  /** The alarms named in the records' triggeredAlarmState, found again after a change. */
  alarmMoids?: Set<string>;
}

/**
 * Applies one ObjectUpdate (enter / modify / leave) to the records. One without its kind, obj or
 * type, or a modify of an object never entered, is skipped and counted in `odd`: refusing the
 * answer would refuse every answer after it, and a record made from a modify alone would lack
 * everything that did not change (its name, its parent).
 */
export function applyUpdate(state: WatchRecords, update: XmlNode, odd: UnrequestedProperties): void {
  const kind = child(update, 'kind')?.text;
  const objNode = child(update, 'obj');
  const type = objNode?.attrs.type;
  if (!objNode || !type || !kind) return odd.skipObject();
  const key = `${type}:${objNode.text}`;
  const old = kind === 'enter' ? undefined : state.objects.get(key);
  if (!old && kind !== 'enter' && kind !== 'leave') return odd.skipObject();
  state.last = undefined;
  state.alarmMoids = undefined;
  if (kind === 'leave') {
    state.objects.delete(key);
    return;
  }
  // Records are decoded from the changed values only; the property trees are garbage at once.
  const it = old ? cloneItem(old) : emptyItem(type, objNode.text);
  for (const c of update.children) {
    if (c.name !== 'changeSet') continue;
    const name = child(c, 'name')?.text;
    const op = child(c, 'op')?.text;
    if (name === undefined || !odd.keep(type, objNode.text, name)) continue;
    const val = child(c, 'val');
    setProperty(it, name, (op === 'assign' || op === 'add') && val ? val : undefined);
  }
  state.objects.set(unslice(key), it);
}
