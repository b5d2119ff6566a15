import type { PageContext, PageResult } from '../server/context';
import { checkSetParam } from '../api/params';
import { overviewPage } from './overview';
import { queuesPage } from './queues';
import { queuePage } from './queue';
import { busyPage } from './busy';
import { setPage } from './set-page';
import { jobPage } from './job';
import { recurringPage } from './recurring';
import { batchesPage, batchPage } from './batches';
import { metricsPage } from './metrics';
import { searchPage } from './search';

/** Every page, by path under the mount point (each a stable, bookmarkable URL). */
export const PAGE_ROUTES: { path: string; handle(ctx: PageContext): Promise<PageResult> }[] = [
  { path: '', handle: overviewPage },
  { path: '/queues', handle: queuesPage },
  { path: '/queues/:name', handle: queuePage },
  { path: '/busy', handle: busyPage },
  { path: '/scheduled', handle: (ctx) => setPage(ctx, checkSetParam('scheduled')) },
  { path: '/retries', handle: (ctx) => setPage(ctx, checkSetParam('retries')) },
  { path: '/dead', handle: (ctx) => setPage(ctx, checkSetParam('dead')) },
  { path: '/jobs/:jid', handle: jobPage },
  { path: '/recurring', handle: recurringPage },
  { path: '/batches', handle: batchesPage },
  { path: '/batches/:bid', handle: batchPage },
  { path: '/metrics', handle: metricsPage },
  { path: '/search', handle: searchPage },
];
