import { hybridTests } from './hybrid';
import { trafficSuite } from './traffic';

trafficSuite('win-overlay', hybridTests);
