import type { XmlNode } from './answer-data.js';
import { num, str, unslice } from './values.js';

/** One decoded HostNumericSensorInfo. */
export interface NumericSensor {
  name: string;
  sensorType: string;
  baseUnits: string;
  health?: string;
  currentReading?: number;
  unitModifier: number;
}

/** The sensorType ESXi gives every installed software package (~100 per host): not hardware. */
export const SOFTWARE_SENSOR_TYPE = 'Software Components';

/** Decodes ArrayOfHostNumericSensorInfo; nameless entries are skipped. */
export function numericSensors(list: XmlNode | undefined): NumericSensor[] {
  const out: NumericSensor[] = [];
  for (const info of list?.children ?? []) {
    const s: NumericSensor = { name: '', sensorType: '', baseUnits: '', unitModifier: 0 };
    for (const c of info.children) {
      if (c.name === 'name') s.name = unslice(c.text);
      else if (c.name === 'sensorType') s.sensorType = unslice(c.text);
      else if (c.name === 'baseUnits') s.baseUnits = unslice(c.text);
      else if (c.name === 'currentReading') s.currentReading = num(c);
      else if (c.name === 'unitModifier') s.unitModifier = num(c) ?? 0;
      else if (c.name === 'healthState') s.health = str(c.children.find((k) => k.name === 'key'));
    }
    if (s.name !== '') out.push(s);
  }
  return out;
}

/** The hardware sensors of a list: decoded once when the inventory is read, software entries dropped. */
export function hardwareSensors(list: XmlNode | undefined): NumericSensor[] | undefined {
  if (!list) return undefined;
  return numericSensors(list).filter((s) => s.sensorType !== SOFTWARE_SENSOR_TYPE);
}
