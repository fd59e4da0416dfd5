// Ground truth for the workforce models: the ESR current state after the changes file, as the
// generator wrote it. `truth/workforce_assignments.csv` has one row per current assignment, streamed
// as each staff member is written; `truth/workforce_monthly.csv` is the monthly snapshot (see README,
// "Workforce models"): for each of the `WORKFORCE_SNAPSHOT_MONTHS` months ending with the as-of month,
// each staff group and organisation, the people with an assignment active on the snapshot date (the
// month's last day, or the as-of date in the as-of month) and the FTE of those assignments. Only those
// aggregates are held, so memory grows with months × groups × organisations, not with the workforce.

import { join } from 'node:path';
import { DAY, isoDate } from './calendar.ts';
import { LineWriter } from './lineWriter.ts';
import { csvField, type TruthFileSummary } from './truth.ts';
import type { Assignment, StaffMember } from './workforce.ts';

/** Matches the models' default `esr_snapshot_months` var. */
export const WORKFORCE_SNAPSHOT_MONTHS = 24;

export const WORKFORCE_TRUTH_HEADERS = {
  assignments: 'person_id,esr_person_id,assignment_id,assignment_number,staff_group,job_role,occupation_code,org_id,cost_centre,fte,start_date',
  monthly: 'month,staff_group,org_id,headcount,fte',
} as const;

/** An assignment as it stands after the changes file. */
export interface CurrentAssignment {
  assignment: Assignment;
  fte: number;
}

export interface WorkforceTruthCounts {
  as_of_date: string;
  months: number;
  current_people: number;
  current_assignments: number;
  monthly_rows: number;
}

interface Snapshot {
  month: string;
  /** Seconds at 00:00Z of the snapshot date. */
  date: number;
}

interface MonthlyCell {
  headcount: number;
  /** Hundredths of an FTE, so sums are exact. */
  fteHundredths: number;
}

export class WorkforceTruthWriter {
  private readonly dir: string;
  private readonly assignmentsFile: LineWriter;
  private readonly snapshots: readonly Snapshot[];
  private readonly asOfSeconds: number;
  private readonly monthly = new Map<string, MonthlyCell>();
  private people = 0;
  private assignments = 0;

  private constructor(dir: string, assignmentsFile: LineWriter, asOfSeconds: number) {
    this.dir = dir;
    this.assignmentsFile = assignmentsFile;
    this.asOfSeconds = asOfSeconds;
    this.snapshots = snapshotsFor(asOfSeconds);
  }

  /** `asOfSeconds`: 00:00Z of the latest file date (the changes file's). */
  static async open(dir: string, asOfSeconds: number): Promise<WorkforceTruthWriter> {
    const file = await LineWriter.open(join(dir, 'workforce_assignments.csv'));
    await file.write(`${WORKFORCE_TRUTH_HEADERS.assignments}\n`);
    return new WorkforceTruthWriter(dir, file, asOfSeconds);
  }

  /** One staff member's current assignments (none when the person was deleted). */
  async staff(staff: StaffMember, current: readonly CurrentAssignment[]): Promise<void> {
    if (current.length === 0) return;
    this.people++;
    // A person counts once per month, staff group and organisation, however many assignments there.
    const counted = new Set<string>();
    for (const { assignment: a, fte } of current) {
      const role = a.position.role;
      const orgId = a.position.organisation.orgId;
      this.assignments++;
      await this.assignmentsFile.write(
        `${[staff.personId, staff.esrPersonId, a.assignmentId, a.assignmentNumber, role.staffGroup, role.jobRole, role.occupationCode, orgId, primaryCostCentre(a), fte.toFixed(2), isoDate(a.startSeconds)].map(csvField).join(',')}\n`,
      );
      for (const snapshot of this.snapshots) {
        // Synthetic assignments have no end date, so active means started by the snapshot date.
        if (a.startSeconds > snapshot.date) continue;
        const key = [snapshot.month, role.staffGroup, orgId].join('\u0000');
        const cell = this.monthly.get(key) ?? { headcount: 0, fteHundredths: 0 };
        if (!counted.has(key)) {
          counted.add(key);
          cell.headcount++;
        }
        cell.fteHundredths += Math.round(fte * 100);
        this.monthly.set(key, cell);
      }
    }
  }

  /** Closes the assignments file and writes the monthly file, sorted by month, staff group, org id. */
  async close(): Promise<{ files: TruthFileSummary[]; counts: WorkforceTruthCounts }> {
    await this.assignmentsFile.close();
    const monthly = await LineWriter.open(join(this.dir, 'workforce_monthly.csv'));
    try {
      await monthly.write(`${WORKFORCE_TRUTH_HEADERS.monthly}\n`);
      const keys = [...this.monthly.keys()].sort();
      for (const key of keys) {
        const cell = this.monthly.get(key)!;
        const [month, staffGroup, orgId] = key.split('\u0000') as [string, string, string];
        await monthly.write(`${[month, staffGroup, orgId, String(cell.headcount), (cell.fteHundredths / 100).toFixed(2)].map(csvField).join(',')}\n`);
      }
      await monthly.close();
    } catch (err) {
      monthly.destroy();
      throw err;
    }
    return {
      files: [
        { path: 'truth/workforce_assignments.csv', records: this.assignments },
        { path: 'truth/workforce_monthly.csv', records: this.monthly.size },
      ],
      counts: {
        as_of_date: isoDate(this.asOfSeconds),
        months: WORKFORCE_SNAPSHOT_MONTHS,
        current_people: this.people,
        current_assignments: this.assignments,
        monthly_rows: this.monthly.size,
      },
    };
  }

  destroy(): void {
    this.assignmentsFile.destroy();
  }
}

/** The largest split, the lower allocation id on a tie — what the workforce_assignment mart calls the primary costing. */
function primaryCostCentre(a: Assignment): string {
  let best = a.costings[0]!;
  for (const c of a.costings) if (c.percentage > best.percentage) best = c;
  return best.costCentre;
}

/** Oldest first: `{ month: '2024-02-01', date: 2024-02-29 }` … `{ month: '2026-01-01', date: as of }`. */
function snapshotsFor(asOfSeconds: number): Snapshot[] {
  const asOf = new Date(asOfSeconds * 1000);
  const snapshots: Snapshot[] = [];
  for (let back = WORKFORCE_SNAPSHOT_MONTHS - 1; back >= 0; back--) {
    const start = Date.UTC(asOf.getUTCFullYear(), asOf.getUTCMonth() - back, 1) / 1000;
    const lastDay = Date.UTC(asOf.getUTCFullYear(), asOf.getUTCMonth() - back + 1, 1) / 1000 - DAY;
    snapshots.push({ month: isoDate(start), date: Math.min(lastDay, asOfSeconds) });
  }
  return snapshots;
}
