import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { startTestServer, type TestServer } from './support/server.ts';
import { registerUser, type TestUser } from './support/users.ts';

const LIMIT = 64 * 1024;

/** Every regular file under `dir` (recursively), as paths relative to it. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name).slice(dir.length + 1));
}

describe('media repository', () => {
  let server: TestServer;
  let alice: TestUser;
  let bob: TestUser;

  const raw = (method: string, path: string, options: { token?: string; body?: RequestInit['body']; contentType?: string; headers?: Record<string, string> } = {}) => {
    const headers: Record<string, string> = { ...options.headers };
    if (options.token) headers.Authorization = `Bearer ${options.token}`;
    if (options.contentType) headers['Content-Type'] = options.contentType;
    const init: RequestInit & { duplex?: 'half' } = { method, headers };
    if (options.body !== undefined) {
      init.body = options.body;
      if (options.body instanceof ReadableStream) init.duplex = 'half';
    }
    return fetch(server.url + path, init);
  };

  const upload = async (user: TestUser, bytes: Uint8Array | string, contentType = 'application/octet-stream', filename?: string) => {
    const query = filename === undefined ? '' : `?filename=${encodeURIComponent(filename)}`;
    const res = await raw('POST', `/_matrix/media/v3/upload${query}`, { token: user.accessToken, body: bytes as RequestInit['body'], contentType });
    const body = (await res.json()) as Record<string, any>;
    assert.equal(res.status, 200, JSON.stringify(body));
    const match = /^mxc:\/\/([^/]+)\/([A-Za-z0-9_-]+)$/.exec(body.content_uri);
    assert.ok(match, body.content_uri);
    return { serverName: match[1]!, mediaId: match[2]! };
  };

  const downloadPath = (m: { serverName: string; mediaId: string }, fileName?: string) =>
    `/_matrix/client/v1/media/download/${m.serverName}/${m.mediaId}${fileName ? `/${encodeURIComponent(fileName)}` : ''}`;

  before(async () => {
    server = await startTestServer({ max_upload_bytes: LIMIT });
    alice = await registerUser(server);
    bob = await registerUser(server);
  });
  after(async () => server?.close());

  test('config advertises the upload limit, only to signed-in users', async () => {
    const res = await alice.api.get('/_matrix/client/v1/media/config');
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { 'm.upload.size': LIMIT });
    assert.equal((await server.api.get('/_matrix/client/v1/media/config')).status, 401);
  });

  test('upload and authenticated download round trip byte for byte', async () => {
    const bytes = randomBytes(40_000);
    const m = await upload(alice, bytes, 'image/png', 'scan 1.png');
    assert.equal(m.serverName, 'test.local');
    assert.equal(m.mediaId.length, 24);

    const res = await raw('GET', downloadPath(m), { token: bob.accessToken });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'image/png');
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.match(res.headers.get('content-security-policy') ?? '', /sandbox/);
    assert.equal(res.headers.get('cache-control'), 'private');
    assert.equal(res.headers.get('content-disposition'), `inline; filename="scan 1.png"; filename*=UTF-8''scan%201.png`);
    assert.ok(Buffer.from(await res.arrayBuffer()).equals(bytes));

    const named = await raw('GET', downloadPath(m, 'other name.png'), { token: alice.accessToken });
    assert.equal(named.status, 200);
    assert.match(named.headers.get('content-disposition') ?? '', /filename\*=UTF-8''other%20name\.png$/);
    assert.ok(Buffer.from(await named.arrayBuffer()).equals(bytes));
  });

  test('a file name URI-encoded twice (browser upload) is stored decoded; unicode names survive', async () => {
    const m = await upload(alice, 'hello', 'text/plain', encodeURIComponent('Befund Müller.txt'));
    const res = await raw('GET', downloadPath(m), { token: alice.accessToken });
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'hello');
    assert.equal(res.headers.get('content-disposition'), `inline; filename="Befund M_ller.txt"; filename*=UTF-8''Befund%20M%C3%BCller.txt`);
  });

  test('identical content is stored once (content-addressed)', async () => {
    const bytes = randomBytes(5000);
    const before = await filesUnder(join(server.dataDir, 'media'));
    const a = await upload(alice, bytes);
    const b = await upload(bob, bytes);
    assert.notEqual(a.mediaId, b.mediaId);
    const files = await filesUnder(join(server.dataDir, 'media'));
    assert.equal(files.length, before.length + 1);
    const added = files.find((f) => !before.includes(f))!;
    assert.match(added, /^[0-9a-f]{2}\/[0-9a-f]{2}\/[0-9a-f]{64}$/);
    for (const m of [a, b]) {
      const res = await raw('GET', downloadPath(m), { token: alice.accessToken });
      assert.ok(Buffer.from(await res.arrayBuffer()).equals(bytes));
    }
  });

  test('oversize uploads get 413 M_TOO_LARGE and leave no file behind', async () => {
    const before = await filesUnder(join(server.dataDir, 'media'));
    // Declared too large: refused before reading.
    const declared = await raw('POST', '/_matrix/media/v3/upload', { token: alice.accessToken, body: randomBytes(LIMIT + 1), contentType: 'application/octet-stream' });
    assert.equal(declared.status, 413);
    assert.equal(((await declared.json()) as Record<string, any>).errcode, 'M_TOO_LARGE');

    // Chunked, no Content-Length: refused while streaming.
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= LIMIT * 2) return controller.close();
        sent += 8192;
        controller.enqueue(randomBytes(8192));
      },
    });
    const streamed = await raw('POST', '/_matrix/media/v3/upload', { token: alice.accessToken, body: stream, contentType: 'application/octet-stream' });
    assert.equal(streamed.status, 413);
    assert.equal(((await streamed.json()) as Record<string, any>).errcode, 'M_TOO_LARGE');
    assert.deepEqual(await filesUnder(join(server.dataDir, 'media')), before);

    // Exactly at the limit is fine.
    await upload(alice, randomBytes(LIMIT));
  });

  test('uploads and downloads need a signed-in user; the legacy unauthenticated download is gone', async () => {
    const m = await upload(alice, 'secret');
    const anonymous = await raw('GET', downloadPath(m));
    assert.equal(anonymous.status, 401);
    assert.equal(((await anonymous.json()) as Record<string, any>).errcode, 'M_MISSING_TOKEN');
    const badToken = await raw('GET', downloadPath(m), { token: 'nope' });
    assert.equal(badToken.status, 401);
    const inUrl = await raw('GET', `${downloadPath(m)}?access_token=${alice.accessToken}`);
    assert.equal(inUrl.status, 401);

    const anonymousUpload = await raw('POST', '/_matrix/media/v3/upload', { body: 'x', contentType: 'text/plain' });
    assert.equal(anonymousUpload.status, 401);

    for (const path of [`/_matrix/media/v3/download/${m.serverName}/${m.mediaId}`, `/_matrix/media/v3/thumbnail/${m.serverName}/${m.mediaId}?width=32&height=32`]) {
      for (const token of [undefined, alice.accessToken]) {
        const res = await raw('GET', path, token ? { token } : {});
        assert.equal(res.status, 404, path);
        const text = await res.text();
        assert.ok(!text.includes('secret'));
      }
    }
  });

  test('unknown media, other servers and malformed ids are 404 M_NOT_FOUND', async () => {
    for (const path of [
      '/_matrix/client/v1/media/download/test.local/AAAAAAAAAAAAAAAAAAAAAAAA',
      '/_matrix/client/v1/media/download/other.example/AAAAAAAAAAAAAAAAAAAAAAAA',
      '/_matrix/client/v1/media/download/test.local/..%2F..%2Fetc',
    ]) {
      const res = await alice.api.get(path);
      assert.equal(res.status, 404, path);
      assert.equal(res.body.errcode, 'M_NOT_FOUND');
    }
  });

  test('active content types are served as attachments that cannot run', async () => {
    for (const type of ['text/html', 'image/svg+xml', 'application/xhtml+xml', 'text/javascript']) {
      const m = await upload(alice, '<script>alert(1)</script>', type, 'x.html');
      const res = await raw('GET', downloadPath(m), { token: alice.accessToken });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
      assert.match(res.headers.get('content-security-policy') ?? '', /^sandbox; default-src 'none'; script-src 'none'/);
      assert.match(res.headers.get('content-disposition') ?? '', /^attachment;/);
      assert.equal(res.headers.get('content-type'), type);
    }
    // A Content-Type that tries to inject headers or parameters is replaced.
    const weird = await upload(alice, 'x', 'text/html;\tfoo=bar, text/plain');
    const res = await raw('GET', downloadPath(weird), { token: alice.accessToken });
    assert.match(res.headers.get('content-disposition') ?? '', /^attachment/);
    const noType = await raw('POST', '/_matrix/media/v3/upload', { token: alice.accessToken, body: 'abc' });
    assert.equal(noType.status, 200);
  });

  test('create then PUT: only the creator, only once', async () => {
    const created = await alice.api.post('/_matrix/media/v1/create', {});
    assert.equal(created.status, 200, JSON.stringify(created.body));
    assert.ok(created.body.unused_expires_at > Date.now() - 60_000);
    const [, serverName, mediaId] = /^mxc:\/\/([^/]+)\/([A-Za-z0-9_-]{24})$/.exec(created.body.content_uri)!;
    const put = `/_matrix/media/v3/upload/${serverName}/${mediaId}?filename=notes.txt`;

    // Not uploaded yet: a download without waiting says so.
    const early = await alice.api.get(`${downloadPath({ serverName: serverName!, mediaId: mediaId! })}?timeout_ms=0`);
    assert.equal(early.status, 504);
    assert.equal(early.body.errcode, 'M_NOT_YET_UPLOADED');

    const byBob = await raw('PUT', put, { token: bob.accessToken, body: 'bob was here', contentType: 'text/plain' });
    assert.equal(byBob.status, 403);
    assert.equal(((await byBob.json()) as Record<string, any>).errcode, 'M_FORBIDDEN');

    const first = await raw('PUT', put, { token: alice.accessToken, body: 'first', contentType: 'text/plain' });
    assert.equal(first.status, 200);
    assert.deepEqual(await first.json(), {});

    const second = await raw('PUT', put, { token: alice.accessToken, body: 'second', contentType: 'text/plain' });
    assert.equal(second.status, 409);
    assert.equal(((await second.json()) as Record<string, any>).errcode, 'M_CANNOT_OVERWRITE_MEDIA');

    const res = await raw('GET', downloadPath({ serverName: serverName!, mediaId: mediaId! }), { token: bob.accessToken });
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'first');
    assert.match(res.headers.get('content-disposition') ?? '', /filename="notes.txt"/);

    const unknown = await raw('PUT', '/_matrix/media/v3/upload/test.local/AAAAAAAAAAAAAAAAAAAAAAAA', { token: alice.accessToken, body: 'x' });
    assert.equal(unknown.status, 404);
    const otherServer = await raw('PUT', `/_matrix/media/v3/upload/other.example/${mediaId}`, { token: alice.accessToken, body: 'x' });
    assert.equal(otherServer.status, 404);
  });

  test('a download waits for a created media id to be uploaded', async () => {
    const created = await alice.api.post('/_matrix/media/v1/create', {});
    const mediaId = created.body.content_uri.split('/').pop();
    const waiting = raw('GET', `${downloadPath({ serverName: 'test.local', mediaId })}?timeout_ms=5000`, { token: bob.accessToken });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const put = await raw('PUT', `/_matrix/media/v3/upload/test.local/${mediaId}`, { token: alice.accessToken, body: 'late', contentType: 'text/plain' });
    assert.equal(put.status, 200);
    const res = await waiting;
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'late');
  });

  test('a created media id expires unused', async () => {
    const created = await alice.api.post('/_matrix/media/v1/create', {});
    const mediaId = created.body.content_uri.split('/').pop();
    server.clock.advance(25 * 60 * 60 * 1000);
    const put = await raw('PUT', `/_matrix/media/v3/upload/test.local/${mediaId}`, { token: alice.accessToken, body: 'x' });
    assert.equal(put.status, 404);
    const res = await alice.api.get(`${downloadPath({ serverName: 'test.local', mediaId })}?timeout_ms=0`);
    assert.equal(res.status, 404);
  });

  test('JSON routes still parse JSON next to the raw upload scope', async () => {
    const res = await alice.api.put(`/_matrix/client/v3/user/${encodeURIComponent(alice.userId)}/account_data/m.test`, { a: 1 });
    assert.equal(res.status, 200);
    const bad = await alice.api.request('PUT', `/_matrix/client/v3/user/${encodeURIComponent(alice.userId)}/account_data/m.test`, '{not json');
    assert.equal(bad.status, 400);
  });
  test('thumbnails of unencrypted raster images, at standard sizes, without metadata', async () => {
    const photo = await sharp({ create: { width: 1000, height: 500, channels: 3, background: '#3366cc' } })
      .jpeg()
      .withMetadata({ exif: { IFD0: { Make: 'PatientCam' } } })
      .toBuffer();
    const m = await upload(alice, photo, 'image/jpeg', 'wound.jpg');
    const thumb = (query: string, token = bob.accessToken) => raw('GET', `/_matrix/client/v1/media/thumbnail/${m.serverName}/${m.mediaId}?${query}`, { token });

    const scaled = await thumb('width=300&height=200&method=scale');
    assert.equal(scaled.status, 200);
    assert.equal(scaled.headers.get('content-type'), 'image/jpeg');
    assert.equal(scaled.headers.get('x-content-type-options'), 'nosniff');
    assert.match(scaled.headers.get('content-disposition') ?? '', /^inline/);
    const scaledMeta = await sharp(Buffer.from(await scaled.arrayBuffer())).metadata();
    assert.deepEqual([scaledMeta.width, scaledMeta.height], [320, 160]);
    assert.equal(scaledMeta.exif, undefined);

    const cropped = await thumb('width=32&height=32&method=crop');
    assert.equal(cropped.status, 200);
    const croppedMeta = await sharp(Buffer.from(await cropped.arrayBuffer())).metadata();
    assert.deepEqual([croppedMeta.width, croppedMeta.height], [32, 32]);

    // Made once, then served from the data folder.
    const again = await thumb('width=32&height=32&method=crop');
    assert.equal(again.status, 200);
    await again.arrayBuffer();
    const thumbs = await filesUnder(join(server.dataDir, 'media', 'thumbnails'));
    assert.equal(thumbs.length, 2);

    const png = await sharp({ create: { width: 50, height: 40, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0.5 } } }).png().toBuffer();
    const p = await upload(alice, png, 'image/png');
    const small = await raw('GET', `/_matrix/client/v1/media/thumbnail/${p.serverName}/${p.mediaId}?width=640&height=480`, { token: alice.accessToken });
    assert.equal(small.status, 200);
    assert.equal(small.headers.get('content-type'), 'image/png');
    const smallMeta = await sharp(Buffer.from(await small.arrayBuffer())).metadata();
    assert.deepEqual([smallMeta.width, smallMeta.height], [50, 40], 'never enlarged');

    assert.equal((await thumb('width=32&height=32', '')).status, 401);
    assert.equal((await thumb('width=0&height=32')).status, 400);
    assert.equal((await thumb('height=32')).status, 400);
  });

  test('no thumbnails of encrypted media, SVG or broken images', async () => {
    const cases = [
      await upload(alice, randomBytes(2000), 'application/octet-stream'),
      await upload(alice, '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', 'image/svg+xml'),
      await upload(alice, 'not really a png', 'image/png'),
    ];
    for (const m of cases) {
      const res = await alice.api.get(`/_matrix/client/v1/media/thumbnail/${m.serverName}/${m.mediaId}?width=96&height=96&method=crop`);
      assert.equal(res.status, 400);
    }
    const unknown = await alice.api.get('/_matrix/client/v1/media/thumbnail/test.local/AAAAAAAAAAAAAAAAAAAAAAAA?width=96&height=96');
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.errcode, 'M_NOT_FOUND');
  });
});
