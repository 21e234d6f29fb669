import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ConfigError, describeSettings, loadConfig } from './config.ts';

const cwd = () => mkdtempSync(join(tmpdir(), 'caduceus-config-'));

describe('configuration', () => {
  test('defaults: SQLite in ./data, 127.0.0.1:8008, closed registration, rate limits on', () => {
    const dir = cwd();
    const config = loadConfig({}, {}, dir);
    assert.deepEqual(config.database, { kind: 'sqlite', path: join(dir, 'data', 'caduceus.sqlite') });
    assert.equal(config.bind, '127.0.0.1');
    assert.equal(config.port, 8008);
    assert.equal(config.registration, 'closed');
    assert.equal(config.rateLimits, true);
    assert.equal(config.publicUrl, 'http://127.0.0.1:8008');
    assert.equal(config.accessTokenLifetimeMs, null);
    assert.equal(config.maxJsonBodyBytes, 1024 * 1024);
  });

  test('environment variables override, with friendly booleans and numbers', () => {
    const config = loadConfig(
      {
        CADUCEUS_PORT: '9000',
        CADUCEUS_BIND: '0.0.0.0',
        CADUCEUS_SERVER_NAME: 'hospital.example.org',
        CADUCEUS_PUBLIC_URL: 'https://chat.hospital.example.org/',
        CADUCEUS_REGISTRATION: 'token',
        CADUCEUS_RATE_LIMITS: 'off',
        CADUCEUS_TRUST_PROXY: 'yes',
        CADUCEUS_DATABASE_URL: 'postgres://caduceus@db/caduceus',
      },
      {},
      cwd(),
    );
    assert.equal(config.port, 9000);
    assert.equal(config.serverName, 'hospital.example.org');
    assert.equal(config.publicUrl, 'https://chat.hospital.example.org');
    assert.equal(config.registration, 'token');
    assert.equal(config.rateLimits, false);
    assert.equal(config.trustProxy, true);
    assert.deepEqual(config.database, { kind: 'postgres', url: 'postgres://caduceus@db/caduceus' });
  });

  test('a configuration file is read, and the environment wins over it', () => {
    const dir = cwd();
    writeFileSync(join(dir, 'caduceus.yaml'), 'server_name: file.example.org\nport: 7000\npassword_min_length: 16\n');
    const fromFile = loadConfig({}, {}, dir);
    assert.equal(fromFile.serverName, 'file.example.org');
    assert.equal(fromFile.passwordPolicy.minLength, 16);
    const overridden = loadConfig({ CADUCEUS_PORT: '7001' }, {}, dir);
    assert.equal(overridden.port, 7001);
    const explicit = join(dir, 'other.yaml');
    writeFileSync(explicit, '{"port": 7002}');
    assert.equal(loadConfig({ CADUCEUS_CONFIG: explicit }, {}, dir).port, 7002);
  });

  test('each bad value is reported with where it came from and what is allowed', () => {
    assert.throws(
      () => loadConfig({ CADUCEUS_PORT: 'eighty', CADUCEUS_REGISTRATION: 'maybe', CADUCEUS_DATABASE_URL: 'mysql://x' }, {}, cwd()),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.match(err.message, /CADUCEUS_PORT/);
        assert.match(err.message, /CADUCEUS_REGISTRATION: must be one of closed, token, open \(got "maybe"\)/);
        assert.match(err.message, /CADUCEUS_DATABASE_URL/);
        return true;
      },
    );
    assert.throws(() => loadConfig({ CADUCEUS_PORT: '70000' }, {}, cwd()), /CADUCEUS_PORT: must be <= 65535/);
    assert.throws(() => loadConfig({ CADUCEUS_SERVER_NAME: 'not a name!' }, {}, cwd()), /not a valid Matrix server name/);
  });

  test('unknown settings and broken files are reported, not ignored', () => {
    const dir = cwd();
    writeFileSync(join(dir, 'caduceus.yaml'), 'registraton: open\n');
    assert.throws(() => loadConfig({}, {}, dir), /registraton in caduceus.yaml: unknown setting/);
    writeFileSync(join(dir, 'caduceus.yaml'), 'port: [unclosed\n');
    assert.throws(() => loadConfig({}, {}, dir), /not valid YAML/);
    assert.throws(() => loadConfig({ CADUCEUS_CONFIG: join(dir, 'missing.yaml') }, {}, dir), /cannot read/);
  });

  test('every setting is documented with its environment variable', () => {
    const settings = describeSettings();
    assert.ok(settings.length >= 10);
    for (const s of settings) {
      assert.match(s.env, /^CADUCEUS_[A-Z_]+$/);
      assert.ok(s.description.length > 10, s.key);
    }
  });
});
