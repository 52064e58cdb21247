import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseXml } from '../../../src/vsphere/soap/xml.js';
import { MetricFamily } from '../../../src/exposition/index.js';
import {
  addSensorSeries,
  classifySensor,
  numericSensors,
  sensorValue,
} from '../../../src/collectors/host-sensors.js';

test('sensorValue scales by 10^unitModifier without float noise', () => {
  assert.equal(sensorValue(4520, -2), 45.2);
  assert.equal(sensorValue(3, -1), 0.3);
  assert.equal(sensorValue(564, 1), 5640);
  assert.equal(sensorValue(120, 0), 120);
  assert.equal(sensorValue(-5, 2), -500);
});

test('classifySensor picks the kind from the units and converts to base units', () => {
  const s = { name: 'x', sensorType: 'temperature', unitModifier: -2, health: 'green' };
  assert.deepEqual(classifySensor({ ...s, baseUnits: 'Degrees C', currentReading: 2350 }), {
    kind: 'temperature',
    value: 23.5,
  });
  assert.deepEqual(classifySensor({ ...s, baseUnits: 'Degrees F', currentReading: 21200 }), {
    kind: 'temperature',
    value: 100,
  });
  assert.deepEqual(
    classifySensor({ ...s, sensorType: 'fan', baseUnits: 'RPM', unitModifier: 1, currentReading: 564 }),
    { kind: 'fan', value: 5640 },
  );
  assert.deepEqual(
    classifySensor({ ...s, sensorType: 'power', baseUnits: 'Watts', unitModifier: 0, currentReading: 120 }),
    { kind: 'power', value: 120 },
  );
  // Volts, amps, and readings that are missing are not exported as a measurement.
  assert.equal(
    classifySensor({ ...s, sensorType: 'voltage', baseUnits: 'Volts', currentReading: 1200 }),
    undefined,
  );
  assert.equal(classifySensor({ ...s, baseUnits: 'Degrees C', currentReading: undefined }), undefined);
});

const LIST = parseXml(
  '<val xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="ArrayOfHostNumericSensorInfo">' +
    '<HostNumericSensorInfo><name>Inlet Temp</name><healthState><label>Green</label><summary>ok</summary><key>green</key></healthState>' +
    '<currentReading>2350</currentReading><unitModifier>-2</unitModifier><baseUnits>Degrees C</baseUnits><sensorType>temperature</sensorType></HostNumericSensorInfo>' +
    '<HostNumericSensorInfo><name>Inlet Temp</name><currentReading>9999</currentReading><unitModifier>0</unitModifier><baseUnits>Degrees C</baseUnits><sensorType>temperature</sensorType></HostNumericSensorInfo>' +
    '<HostNumericSensorInfo><name>FAN1</name><healthState><key>Yellow</key></healthState><currentReading>564</currentReading><unitModifier>1</unitModifier><baseUnits>RPM</baseUnits><sensorType>fan</sensorType></HostNumericSensorInfo>' +
    '<HostNumericSensorInfo><name>esx-base 7.0</name><healthState><key>green</key></healthState><currentReading>0</currentReading><unitModifier>0</unitModifier><baseUnits></baseUnits><sensorType>Software Components</sensorType></HostNumericSensorInfo>' +
    '<HostNumericSensorInfo><currentReading>1</currentReading></HostNumericSensorInfo>' +
    '</val>',
);

test('numericSensors decodes HostNumericSensorInfo and skips nameless entries', () => {
  const s = numericSensors(LIST);
  assert.equal(s.length, 4);
  assert.deepEqual(s[0], {
    name: 'Inlet Temp',
    sensorType: 'temperature',
    baseUnits: 'Degrees C',
    health: 'green',
    currentReading: 2350,
    unitModifier: -2,
  });
});

test('addSensorSeries: readings by kind, a health state set per hardware sensor, first of a repeated name wins', () => {
  const f = (labels: string[]) => new MetricFamily('f', 'h', 'gauge', labels);
  const fams = {
    temperature: f(['host', 'host_moid', 'sensor']),
    fan: f(['host', 'host_moid', 'sensor']),
    power: f(['host', 'host_moid', 'sensor']),
    health: f(['host', 'host_moid', 'sensor', 'state']),
  };
  addSensorSeries(['h1', 'host-1'], numericSensors(LIST), fams);
  assert.deepEqual(fams.temperature.values, [23.5]);
  assert.deepEqual(fams.fan.values, [5640]);
  assert.equal(fams.power.size, 0);
  // Two hardware sensors × green/yellow/red/unknown; the software component is left out.
  assert.equal(fams.health.size, 8);
  const current = fams.health.labelBlocks.filter((_, i) => fams.health.values[i] === 1);
  assert.deepEqual(current, [
    '{host="h1",host_moid="host-1",sensor="Inlet Temp",state="green"}',
    '{host="h1",host_moid="host-1",sensor="FAN1",state="yellow"}',
  ]);
});
