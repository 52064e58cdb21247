import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { passwordFileExposure } from '../../../src/config/password-file-mode.js';

const exporter = { uid: 65532, gids: [65532] };

describe('passwordFileExposure', () => {
  it('counts group and other bits of a file the exporter owns', () => {
    assert.equal(passwordFileExposure({ uid: 65532, gid: 65532, mode: 0o100600 }, exporter), 0);
    assert.equal(passwordFileExposure({ uid: 65532, gid: 65532, mode: 0o100400 }, exporter), 0);
    assert.equal(passwordFileExposure({ uid: 65532, gid: 65532, mode: 0o100640 }, exporter), 0o040);
    assert.equal(passwordFileExposure({ uid: 65532, gid: 65532, mode: 0o100644 }, exporter), 0o044);
  });

  it('does not count group read when that group is how the exporter reads a file of another user (Kubernetes fsGroup)', () => {
    // A Secret volume with defaultMode 0400 and fsGroup 65532, as kubelet leaves it.
    assert.equal(passwordFileExposure({ uid: 0, gid: 65532, mode: 0o100440 }, exporter), 0);
    assert.equal(
      passwordFileExposure({ uid: 0, gid: 2000, mode: 0o100440 }, { uid: 65532, gids: [65532, 2000] }),
      0,
    );
  });

  it('still counts what goes beyond that group read', () => {
    assert.equal(passwordFileExposure({ uid: 0, gid: 65532, mode: 0o100444 }, exporter), 0o004, 'others');
    assert.equal(
      passwordFileExposure({ uid: 0, gid: 65532, mode: 0o100460 }, exporter),
      0o020,
      'group write',
    );
    assert.equal(
      passwordFileExposure({ uid: 0, gid: 100, mode: 0o100440 }, exporter),
      0o040,
      "a group it doesn't hold",
    );
  });
});
