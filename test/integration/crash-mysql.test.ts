import { crashSuite } from '../support/crash.js';

crashSuite('mysql');
