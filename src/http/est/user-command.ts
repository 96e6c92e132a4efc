// `workload-ca est user add|remove|list`: manages the EST Basic credentials file. The password
// never appears on the command line (where `ps` shows it): it comes from WORKLOAD_CA_EST_PASSWORD
// or the first line of standard input.

import { parseArgs } from 'node:util';
import { addUser, readUsers, removeUser } from './users.js';

export const EST_USAGE = `usage: workload-ca est user add NAME      (password: WORKLOAD_CA_EST_PASSWORD, or the first line of stdin)
       workload-ca est user remove NAME
       workload-ca est user list`;

export async function estCommand(args: string[], usersFile: string): Promise<number> {
  const { positionals } = parseArgs({ args, allowPositionals: true, options: {} });
  const [noun, verb, name, ...extra] = positionals;
  if (noun !== 'user' || extra.length > 0) return usage();
  switch (verb) {
    case 'add': {
      if (name === undefined) return usage();
      const password = process.env.WORKLOAD_CA_EST_PASSWORD ?? (await firstLineOfStdin());
      const r = await addUser(usersFile, name, password);
      if (!r.ok) {
        console.error(`est user add: ${r.reason}`);
        return 1;
      }
      console.log(`${r.replaced ? 'replaced' : 'added'} EST user ${name} in ${usersFile}`);
      return 0;
    }
    case 'remove': {
      if (name === undefined) return usage();
      const r = removeUser(usersFile, name);
      if (!r.ok) {
        console.error(`est user remove: ${r.reason}`);
        return 1;
      }
      console.log(`removed EST user ${name} from ${usersFile}`);
      return 0;
    }
    case 'list':
      if (name !== undefined) return usage();
      for (const [user, entry] of Object.entries(readUsers(usersFile).users)) console.log(`${user}\t${entry.created}`);
      return 0;
    default:
      return usage();
  }
}

function usage(): number {
  console.error(EST_USAGE);
  return 2;
}

async function firstLineOfStdin(): Promise<string> {
  let text = '';
  for await (const chunk of process.stdin) {
    text += (chunk as Buffer).toString('utf8');
    if (text.includes('\n')) break;
  }
  return text.split(/\r?\n/, 1)[0] ?? '';
}
