/** Two people in an end-to-end encrypted room, each with a matrix-js-sdk client running Rust crypto. */
import type { IStartClientOpts, MatrixClient } from 'matrix-js-sdk';
import { createSdkClient, sdkSessionOf, startSdkClient, waitForSdk } from './sdk.ts';
import type { TestServer } from './server.ts';
import { registerUser, type TestUser } from './users.ts';

export interface EncryptedRoomOfTwo {
  alice: TestUser;
  bob: TestUser;
  aliceClient: MatrixClient;
  bobClient: MatrixClient;
  roomId: string;
}

/**
 * Registers Alice and Bob, starts their clients with `sync`, and has Alice create an encrypted room
 * that Bob joins. Returns once both apps have seen the encryption state: before that, the first
 * message would go out in clear.
 */
export async function encryptedRoomOfTwo(server: TestServer, sync: IStartClientOpts): Promise<EncryptedRoomOfTwo> {
  const alice = await registerUser(server);
  const bob = await registerUser(server);
  const aliceClient = await createSdkClient(server.url, sdkSessionOf(alice), { withCrypto: true });
  const bobClient = await createSdkClient(server.url, sdkSessionOf(bob), { withCrypto: true });
  await startSdkClient(aliceClient, sync);
  await startSdkClient(bobClient, sync);

  const { room_id: roomId } = await aliceClient.createRoom({
    invite: [bob.userId],
    initial_state: [{ type: 'm.room.encryption', state_key: '', content: { algorithm: 'm.megolm.v1.aes-sha2' } }],
  });
  await waitForSdk(bobClient, 'the invite', () => bobClient.getRoom(roomId)?.getMyMembership() === 'invite');
  await bobClient.joinRoom(roomId);
  await waitForSdk(aliceClient, 'bob joined', () => aliceClient.getRoom(roomId)?.getMember(bob.userId)?.membership === 'join');
  for (const client of [aliceClient, bobClient]) await waitForSdk(client, 'the room to be encrypted', () => client.getRoom(roomId)?.hasEncryptionStateEvent());
  return { alice, bob, aliceClient, bobClient, roomId };
}
