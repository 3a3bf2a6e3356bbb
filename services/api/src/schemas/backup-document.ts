/**
 * A small backup document in the seed's shape (format 1.x): what a download serves and a restore takes as `backupData`.
 */
export const BACKUP_DOCUMENT_EXAMPLE = {
  metadata: {
    version: '1.1',
    timestamp: '2026-11-24T02:00:00.000Z',
    app: 'millennium-potters',
    schemaVersion: '20261201084316_trust_protection_undo',
    options: { includeAuditLogs: false, includeSessions: false },
    recordCounts: { users: 1, unions: 1, unionMembers: 0, loanTypes: 1, loans: 0, repayments: 0 },
  },
  data: {
    users: [
      {
        id: '0b6f2a1c-3d4e-4f5a-8b9c-0d1e2f3a4b5c',
        username: 'admin',
        email: 'admin@millenniumpotters.example',
        passwordHash: '$argon2id$v=19$m=19456,t=2,p=1$…',
        firstName: 'Ada',
        lastName: 'Okafor',
        phone: null,
        role: 'ADMIN',
        isActive: true,
        mustChangePassword: false,
        supervisorId: null,
        lastLoginAt: '2026-11-23T17:40:00.000Z',
        createdAt: '2026-01-05T09:00:00.000Z',
        updatedAt: '2026-11-23T17:40:00.000Z',
      },
    ],
    unions: [
      {
        id: '4e2b8c1a-7f3d-4a9e-b6c5-0d1e2f3a4b5c',
        name: 'Ikeja Potters Union',
        location: 'Ikeja',
        address: null,
        creditOfficerId: '0b6f2a1c-3d4e-4f5a-8b9c-0d1e2f3a4b5c',
        isActive: true,
        createdAt: '2026-02-01T09:00:00.000Z',
        updatedAt: '2026-02-01T09:00:00.000Z',
      },
    ],
    unionMembers: [],
    loanTypes: [
      {
        id: '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d',
        name: 'Kiln equipment',
        description: null,
        interestRate: '12.5000',
        minAmount: '50000.00',
        maxAmount: '500000.00',
        durationMonths: 12,
        isActive: true,
        createdAt: '2026-01-05T09:00:00.000Z',
        updatedAt: '2026-01-05T09:00:00.000Z',
      },
    ],
    loans: [],
    repayments: [],
  },
};
