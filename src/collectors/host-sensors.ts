import type { MetricFamily } from '../exposition/index.js';
import { numericSensors, SOFTWARE_SENSOR_TYPE, type NumericSensor } from '../vsphere/host-sensor-info.js';
import { gauge } from './collector.js';
import { addStateSet } from './perf-families.js';

const ID = ['host', 'host_moid'] as const;
/** HostNumericSensorInfo.healthState.key values. */
export const SENSOR_STATES = ['green', 'yellow', 'red', 'unknown'] as const;
/** Re-exported for the collectors' tests and callers. */
export { numericSensors, type NumericSensor };
const PATH = 'runtime.healthSystemRuntime.systemHealthInfo.numericSensorInfo';

/** `vsphere_host_sensor_temperature_celsius`. */
export const SENSOR_TEMPERATURE = gauge(
  'vsphere_host_sensor_temperature_celsius',
  `Temperature sensor reading in degrees Celsius: currentReading × 10^unitModifier (${PATH}).`,
  [...ID, 'sensor'],
);
/** `vsphere_host_sensor_fan_speed_rpm`. */
export const SENSOR_FAN = gauge(
  'vsphere_host_sensor_fan_speed_rpm',
  `Fan sensor reading in revolutions per minute: currentReading × 10^unitModifier (${PATH}).`,
  [...ID, 'sensor'],
);
/** `vsphere_host_sensor_power_watts`. */
export const SENSOR_POWER = gauge(
  'vsphere_host_sensor_power_watts',
  `Power sensor reading in watts: currentReading × 10^unitModifier (${PATH}).`,
  [...ID, 'sensor'],
);
/** `vsphere_host_sensor_health`. */
export const SENSOR_HEALTH = gauge(
  'vsphere_host_sensor_health',
  `Health of each hardware sensor (not the Software Components entries): 1 for the current state (${PATH}[].healthState.key).`,
  [...ID, 'sensor', 'state'],
);

/** A raw sensor reading scaled by its unitModifier (value × 10^unitModifier), e.g. 4520 with −2 → 45.2. */
export function sensorValue(reading: number, unitModifier: number): number {
  // Dividing by a positive power of ten keeps 4520 × 10^−2 at 45.2 (multiplying by 0.01 gives 45.2000…01).
  return unitModifier < 0 ? reading / 10 ** -unitModifier : reading * 10 ** unitModifier;
}

/** What a sensor measures in our base units, and its value there; undefined for anything else. */
export function classifySensor(
  s: NumericSensor,
): { kind: 'temperature' | 'fan' | 'power'; value: number } | undefined {
  if (s.currentReading === undefined) return undefined;
  const v = sensorValue(s.currentReading, s.unitModifier);
  const units = s.baseUnits.trim().toLowerCase();
  const type = s.sensorType.trim().toLowerCase();
  // ESXi reports baseUnits as free text from IPMI ("Degrees C", "RPM", "Watts"); trust units over type.
  if (units === 'degrees c' || units === 'degrees celsius') return { kind: 'temperature', value: v };
  if (units === 'degrees f') return { kind: 'temperature', value: ((v - 32) * 5) / 9 };
  if (units === 'rpm' && (type === 'fan' || type === '')) return { kind: 'fan', value: v };
  if (units === 'watts') return { kind: 'power', value: v };
  return undefined;
}

/** Adds one host's sensor series to the four sensor families (in that order). */
export function addSensorSeries(
  id: readonly string[],
  sensors: readonly NumericSensor[] | undefined,
  families: { temperature: MetricFamily; fan: MetricFamily; power: MetricFamily; health: MetricFamily },
): void {
  const seen = new Set<string>();
  for (const s of sensors ?? []) {
    // ESXi lists every installed VIB as a "sensor" (~100 per host): software, not hardware health.
    if (s.sensorType === SOFTWARE_SENSOR_TYPE) continue;
    // Some BMCs repeat a sensor name; a second series with the same labels would be invalid.
    if (seen.has(s.name)) continue;
    seen.add(s.name);
    const labels = [...id, s.name];
    if (s.health !== undefined) addStateSet(families.health, labels, SENSOR_STATES, s.health.toLowerCase());
    const c = classifySensor(s);
    if (c) families[c.kind].add(labels, c.value);
  }
}
