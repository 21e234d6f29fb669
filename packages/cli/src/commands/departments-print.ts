/** How the departments commands print one department. */
import { printResult, type Output } from '../args.ts';

export function printDepartment(out: Output, d: { department_id: string; name: string; description: string | null; functional_user_id: string | null; members?: string[] }): void {
  printResult(out, d.department_id, [
    ['name', d.name],
    ...(d.description ? ([['description', d.description]] as [string, string][]) : []),
    ['functional account', d.functional_user_id ?? '(none)'],
    ...(d.members ? ([['members', d.members.join(', ') || '(none)']] as [string, string][]) : []),
  ]);
}
