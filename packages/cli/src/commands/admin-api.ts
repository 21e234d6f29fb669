/** The commands that talk to a running server's admin API (see admin-client.ts), in the order help lists them. */
import type { Command } from '../args.ts';
import { auditDownload } from './audit-download.ts';
import { auditSearch } from './audit-search.ts';
import { departmentsAddMember } from './departments-add-member.ts';
import { departmentsCreate } from './departments-create.ts';
import { departmentsDelete } from './departments-delete.ts';
import { departmentsList } from './departments-list.ts';
import { departmentsRemoveMember } from './departments-remove-member.ts';
import { departmentsSetAccount } from './departments-set-account.ts';
import { departmentsShow } from './departments-show.ts';
import { departmentsUpdate } from './departments-update.ts';
import { devicesList } from './devices-list.ts';
import { devicesWipe } from './devices-wipe.ts';
import { noticesSend } from './notices-send.ts';
import { policiesGet } from './policies-get.ts';
import { policiesSet } from './policies-set.ts';
import { reportCompliance } from './report-compliance.ts';
import { roomsBlock } from './rooms-block.ts';
import { roomsList } from './rooms-list.ts';
import { tokensCreate } from './tokens-create.ts';
import { tokensDelete } from './tokens-delete.ts';
import { tokensList } from './tokens-list.ts';
import { usersCreate } from './users-create.ts';
import { usersDeactivate } from './users-deactivate.ts';
import { usersList } from './users-list.ts';
import { usersResetMfa } from './users-reset-mfa.ts';
import { usersResetPassword } from './users-reset-password.ts';
import { usersRoles } from './users-roles.ts';

export const adminApiCommands: Command[] = [
  usersList,
  usersCreate,
  usersRoles,
  usersDeactivate,
  usersResetPassword,
  usersResetMfa,
  devicesList,
  devicesWipe,
  roomsList,
  roomsBlock,
  tokensList,
  tokensCreate,
  tokensDelete,
  policiesGet,
  policiesSet,
  departmentsList,
  departmentsShow,
  departmentsCreate,
  departmentsUpdate,
  departmentsDelete,
  departmentsSetAccount,
  departmentsAddMember,
  departmentsRemoveMember,
  auditSearch,
  auditDownload,
  noticesSend,
  reportCompliance,
];
