import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseXml } from '../../../src/vsphere/soap/xml.js';
import { guestFilesystems } from '../../../src/collectors/vm-guest.js';

test('guestFilesystems decodes guest.disk, skipping entries without a path and repeated mounts', () => {
  const disks = parseXml(
    '<val xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="ArrayOfGuestDiskInfo">' +
      '<GuestDiskInfo><diskPath>/</diskPath><capacity>1000</capacity><freeSpace>400</freeSpace><filesystemType>ext4</filesystemType></GuestDiskInfo>' +
      '<GuestDiskInfo><diskPath>/</diskPath><capacity>1</capacity><freeSpace>1</freeSpace></GuestDiskInfo>' +
      '<GuestDiskInfo><capacity>5</capacity></GuestDiskInfo>' +
      '<GuestDiskInfo><diskPath>C:\\</diskPath><capacity>2000</capacity></GuestDiskInfo>' +
      '</val>',
  );
  assert.deepEqual(guestFilesystems(disks), [
    { mount: '/', capacity: 1000, free: 400 },
    { mount: 'C:\\', capacity: 2000, free: undefined },
  ]);
  assert.deepEqual(guestFilesystems(undefined), []);
});
